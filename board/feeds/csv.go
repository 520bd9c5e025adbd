package feeds

import (
	"encoding/csv"
	"io"
	"strings"
	"time"

	"crieur/board"
)

// SignupsCSV writes a call's sign-ups as CSV, for a spreadsheet.
func SignupsCSV(w io.Writer, list []board.Signup) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"role", "state", "from", "who", "name", "contact", "signed up at"})
	for _, su := range list {
		// A leading = + - @ would make a spreadsheet run a formula.
		cell := func(s string) string {
			if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
				return "'" + s
			}
			return s
		}
		_ = cw.Write([]string{cell(su.Role), su.State, su.Person.Kind, cell(su.Person.ID), cell(su.Person.Name), cell(su.Person.Contact), su.CreatedAt.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}
