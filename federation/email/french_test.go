package email

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/boardtest"
)

// On a French board, every kind reads French in a mail, both parts, its
// follow-ups too.
func TestEveryKindInFrenchByMail(t *testing.T) {
	b := boardtest.FrenchBoard()
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, a := range boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC)) {
		for _, followUp := range []bool{false, true} {
			text, html := Render(b, a, "https://asso.example/a/1", followUp, nil)
			boardtest.NoEnglish(t, string(a.Kind)+" text", text)
			boardtest.NoEnglish(t, string(a.Kind)+" HTML", tags.ReplaceAllString(html, " "))
			if !strings.Contains(text, "L’asso, publié avec Crieur") || !strings.Contains(html, `<html lang="fr">`) {
				t.Errorf("%s: footer or language:\n%s\n%s", a.Kind, text, html)
			}
		}
	}
}
