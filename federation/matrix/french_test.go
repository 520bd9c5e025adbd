package matrix

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"crieur/board/boardtest"
	"crieur/board/locale"
	"crieur/board/markdown"
)

var tagRe = regexp.MustCompile(`<[^>]*>`)

// On a French board, every kind reads French in a room: the body a client
// without HTML shows, and the formatted body, labels and punctuation
// included; the poll ending too.
func TestEveryKindInFrenchInARoom(t *testing.T) {
	b := boardtest.FrenchBoard()
	start := time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC) // typed in UTC: shown at 19:00, Paris time
	for _, a := range boardtest.EveryKind(b, start) {
		l := locale.Of(b, a)
		c, _, err := Render(l, a, "https://asso.example/a/1", event.MsgNotice, "", markdown.New().HTML)
		if err != nil {
			t.Fatal(err)
		}
		boardtest.NoEnglish(t, string(a.Kind)+" body", c.Body)
		boardtest.NoEnglish(t, string(a.Kind)+" formatted body", tagRe.ReplaceAllString(c.FormattedBody, " "))
		if !strings.HasPrefix(c.Body, l.KindLabel(a)+"\u202f: "+a.Title) {
			t.Errorf("%s: body starts %q", a.Kind, c.Body[:min(60, len(c.Body))])
		}
		if a.Event != nil && !strings.Contains(c.Body, "Quand\u202f: ven. 18 déc. 2026, 19:00 – 22:00 (heure de Paris)") {
			t.Errorf("%s: the time is not in Paris time, in French:\n%s", a.Kind, c.Body)
		}
		if a.Call != nil {
			boardtest.NoEnglish(t, string(a.Kind)+" poll end", pollEndText(l, a, nil))
		}
	}
}
