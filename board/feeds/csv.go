package feeds

import (
	"encoding/csv"
	"io"
	"strings"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// SignupsCSV writes a call's sign-ups as CSV for scripts (the admin API):
// English column names and values, times in RFC 3339.
func SignupsCSV(w io.Writer, list []board.Signup) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"role", "state", "from", "who", "name", "contact", "signed up at"})
	for _, su := range list {
		_ = cw.Write([]string{cell(su.Role), su.State, su.Person.Kind, cell(su.Person.ID), cell(su.Person.Name), cell(su.Person.Contact), su.CreatedAt.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// SignupsSheet writes a call's sign-ups for an editor's spreadsheet, in
// l's language: its column names and words, times in l's zone (named in
// their column's heading: a cell that said it would no longer be a date to
// a spreadsheet), and the separator its spreadsheets read (French ones
// expect ";"), after a byte order mark, without which Excel reads UTF-8 as
// Latin-1.
func SignupsSheet(w io.Writer, list []board.Signup, l locale.Locale) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = []rune(l.T("csv.separator"))[0]
	_ = cw.Write([]string{l.T("signup.role"), l.T("page.state"), l.T("editor.from_where"), l.T("csv.id"), l.T("editor.name"), l.T("editor.contact"), l.T("csv.at", l.Zone(time.Now()))})
	for _, su := range list {
		_ = cw.Write([]string{cell(l.Role(su.Role)), l.T("editor.signup_" + su.State), l.T("editor.via_" + su.Person.Kind),
			cell(su.Person.ID), cell(su.Person.Name), cell(su.Person.Contact), l.Stamp(su.CreatedAt)})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a text a text: a leading = + - @ would make a spreadsheet
// run a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
