package mattermost

import (
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
	"crieur/board/locale"
)

// On a French board, every kind reads French in a Mattermost channel, its
// follow-ups too.
func TestEveryKindInFrenchInAChannel(t *testing.T) {
	b := boardtest.FrenchBoard()
	for _, a := range boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		l := locale.Of(b, a)
		msg := Render(l, a, "https://asso.example/a/1", false, nil)
		boardtest.NoEnglish(t, string(a.Kind), msg)
		if !strings.HasPrefix(msg, "#### "+l.KindLabel(a)+"\u202f: ") {
			t.Errorf("%s: %q", a.Kind, msg)
		}
		boardtest.NoEnglish(t, string(a.Kind)+" follow-up", Render(l, a, "https://asso.example/a/1", true, nil))
	}
}
