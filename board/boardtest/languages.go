package boardtest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"crieur/board"
	"crieur/board/locale"
)

// FrenchBoard is a board set to French, in Paris.
func FrenchBoard() board.Board {
	return board.Board{ID: 1, Name: "asso", DisplayName: "L’asso", Language: "fr", TimeZone: "Europe/Paris"}
}

// EveryKind is one announcement of each kind on board b, with every
// detail its kind has (facts, content warning, pictures, sign-ups half
// taken), written in French, its events starting at start.
func EveryKind(b board.Board, start time.Time) []board.Announcement {
	end := start.Add(3 * time.Hour)
	deadline := start.Add(-24 * time.Hour)
	until := start.Add(2 * time.Hour)
	base := func(id int64, k board.Kind, title string) board.Announcement {
		return board.Announcement{ID: id, Board: b.Name, Kind: k, Title: title, Body: "Venez nombreux.", HTML: "<p>Venez nombreux.</p>",
			Tags: []string{"asso"}, Status: board.StatusPublished, Version: 1, CreatedAt: start.Add(-72 * time.Hour), UpdatedAt: start.Add(-72 * time.Hour),
			Images: []board.Image{{ID: "img1", Alt: "Une affiche", Width: 10, Height: 10, MediaType: "image/png"}}}
	}
	news := base(1, board.KindNews, "Nouvelles de l’asso")
	ev := base(2, board.KindEvent, "Soirée jeux")
	ev.Event = &board.Event{Start: start, End: &end, Place: "Salle des fêtes", URL: "https://asso.example/jeux"}
	call := base(3, board.KindCall, "Fête de quartier")
	call.Call = &board.Call{Roles: []board.Role{{Name: "cuisine", Places: 2}, {Name: "accueil", Places: 1}, {Name: "rangement", Places: 3}},
		Deadline: &deadline, Contact: "benevoles@asso.example", Taken: map[string]int{"cuisine": 2, "rangement": 1}}
	outage := base(4, board.KindOutage, "Messagerie coupée")
	outage.Outage = &board.Outage{Service: "Messagerie", From: start, Until: &until}
	campaign := base(5, board.KindCampaign, "Un serveur neuf")
	campaign.Campaign = &board.Campaign{Goal: 3000, Currency: "EUR", Raised: 1240, Deadline: &end, Link: "https://liberapay.com/asso", TaxNote: "66 % déductible"}
	training := base(6, board.KindTraining, "Initiation à Git")
	training.Event = &board.Event{Start: start, End: &end, Place: "Salle B12"}
	training.Training = &board.Training{Online: "https://visio.asso.example/git", Level: "débutants", Bring: "un portable", Seats: 12, Waitlist: true}
	training.Call = &board.Call{Roles: []board.Role{{Name: board.TrainingRole, Places: 12}}, Deadline: &start, Contact: "-", Waitlist: true,
		Taken: map[string]int{board.TrainingRole: 9}}
	warned := base(7, board.KindNews, "Assemblée générale")
	warned.ContentWarning = "sujet sensible"
	return []board.Announcement{news, ev, call, outage, campaign, training, warned}
}

// NoEnglish fails when text (what a reader of a French post sees) holds
// words of the English catalogue that French writes otherwise: a label, a
// kind, a sentence the French file translates.
func NoEnglish(t testing.TB, where, text string) {
	t.Helper()
	for _, w := range englishWords() {
		if w.MatchString(text) {
			t.Errorf("%s shows English %q:\n%s", where, w.FindString(text), text)
		}
	}
}

var verbRe = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// englishWords are the English catalogue's texts that differ in French,
// as patterns of whole words (a fragment between two arguments counts
// when it is long enough to be English rather than a name).
func englishWords() []*regexp.Regexp {
	c := locale.Builtin()
	seen := map[string]bool{}
	var out []*regexp.Regexp
	for _, key := range c.Keys(language.English) {
		if strings.HasPrefix(key, "date.") || strings.HasPrefix(key, "editor.") || key == "page.language" || key == "mail.subject" {
			continue // dates are checked by their own tests; the editor speaks English
		}
		french := strings.Join(c.Texts(language.French, key), "\n")
		for _, text := range c.Texts(language.English, key) {
			for _, frag := range verbRe.Split(text, -1) {
				frag = strings.Trim(frag, " :;,.()!?“”—–-[]")
				if len([]rune(frag)) < 4 || seen[frag] || strings.Contains(french, frag) {
					continue
				}
				seen[frag] = true
				out = append(out, regexp.MustCompile(`(^|[^\pL])`+regexp.QuoteMeta(frag)+`($|[^\pL])`))
			}
		}
	}
	return out
}
