package liberapay

import (
	"testing"

	"crieur/board"
)

func TestAccountOfALink(t *testing.T) {
	p := &Poller{Base: "https://liberapay.com/"}
	for link, want := range map[string]string{
		"https://liberapay.com/asso":              "asso",
		"https://liberapay.com/asso/donate":       "asso",
		"https://liberapay.com/":                  "",
		"https://liberapay.com.evil.example":      "",
		"https://www.helloasso.com/asso":          "",
		"https://liberapay.com/a?b=c":             "",
		"https://fr.liberapay.com/asso":           "asso", // as copied from a French browser
		"https://www.liberapay.com/asso/":         "asso",
		"http://liberapay.com/asso":               "asso",
		"https://evilliberapay.com/asso":          "",
		"https://liberapay.com@evil.example/asso": "",
	} {
		got, ok := p.account(&board.Campaign{Link: link})
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", link, got, ok, want)
		}
	}
	if _, ok := p.account(nil); ok {
		t.Error("no campaign, an account")
	}
}
