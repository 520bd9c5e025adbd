package feeds

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"

	"crieur/board"
	"crieur/board/boardtest"
)

// FuzzCalendar writes an event of any title, place and text: the file
// keeps iCalendar's form (CRLF lines of at most 75 octets, folded between
// characters) and a reader gets the title and place back as written.
func FuzzCalendar(f *testing.F) {
	f.Add("General assembly", "Hall, room 2; bring a chair", "<p>Agenda: <strong>budget</strong></p>")
	f.Add("Réunion\\; suite, fin", "Salle «\u202fA\u202f»\n2e étage", "")
	f.Add(strings.Repeat("é", 60), strings.Repeat("🚲", 30), strings.Repeat("<p>x</p>", 40))
	f.Fuzz(func(t *testing.T, title, place, html string) {
		if !utf8.ValidString(title) || !utf8.ValidString(place) || !utf8.ValidString(html) ||
			strings.IndexFunc(title+place, unicode.IsControl) >= 0 {
			return // the board refuses such text before it is stored (board.CheckText)
		}
		start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
		c := NewCalendar("News", board.Board{Name: "news"}, boardtest.Links{})
		c.Add(board.Announcement{ID: 1, Kind: board.KindEvent, Title: title, HTML: html, Event: &board.Event{Start: start, Place: place}, UpdatedAt: start})
		var out bytes.Buffer
		if err := c.Write(&out); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if !strings.HasSuffix(text, "\r\n") {
			t.Fatal("the file does not end with CRLF")
		}
		for _, line := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
			if len(line) > 75 || strings.ContainsAny(line, "\r\n") || !utf8.ValidString(line) {
				t.Fatalf("a line out of form (%d octets): %q", len(line), line)
			}
		}
		cal, err := ics.ParseCalendar(strings.NewReader(text))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("a reader cannot read it back: %v", err)
		}
		ev := cal.Events()[0]
		if p := ev.GetProperty(ics.ComponentPropertySummary); p == nil || p.Value != title {
			t.Fatalf("the title %q came back as %v", title, p)
		}
	})
}
