package feeds

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/locale"
)

// On a French board, a feed reader shows French entries: titles, facts,
// each entry marked xml:lang="fr" with the date it was published.
func TestAtomInFrench(t *testing.T) {
	b := boardtest.FrenchBoard()
	list := boardtest.EveryKind(b, time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC))
	doc, err := Atom(b, list, boardtest.Links{}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, doc)
	}
	if len(feed.Items) != len(list) {
		t.Fatalf("%d entries, want %d", len(feed.Items), len(list))
	}
	tags := regexp.MustCompile(`<[^>]*>`)
	for i, it := range feed.Items {
		boardtest.NoEnglish(t, "entry title", it.Title)
		boardtest.NoEnglish(t, "entry content", tags.ReplaceAllString(it.Content, " "))
		if !strings.HasSuffix(it.Title, "\u202f: "+list[i].Title) {
			t.Errorf("title %q", it.Title)
		}
		if it.PublishedParsed == nil || !it.PublishedParsed.Equal(list[i].CreatedAt) {
			t.Errorf("%q published %v, want %v", it.Title, it.PublishedParsed, list[i].CreatedAt)
		}
	}
	if got := strings.Count(string(doc), `<entry xml:lang="fr">`); got != len(list) || !strings.Contains(string(doc), `<feed xml:lang="fr"`) {
		t.Errorf("%d entries marked French; the feed:\n%s", got, doc)
	}
}

// The editor's spreadsheet of sign-ups in French: French column names and
// words, the training's option as it was offered, times in the board's
// zone, ";" as French spreadsheets read it, and a byte order mark.
func TestSignupsSheetInFrench(t *testing.T) {
	at := time.Date(2026, 12, 4, 13, 31, 0, 0, time.UTC)
	list := []board.Signup{
		{Role: board.TrainingRole, State: board.SignupConfirmed, Person: board.Person{Kind: board.PersonWeb, ID: "web:1", Name: "Léa"}, CreatedAt: at},
		{Role: board.TrainingRole, State: board.SignupWaiting, Person: board.Person{Kind: board.PersonEditor, ID: "editor:2", Name: "=Jo"}, CreatedAt: at},
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	var buf bytes.Buffer
	if err := SignupsSheet(&buf, list, locale.For("fr").InZone(paris)); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFRôle;État;Depuis;Identifiant;Nom;Contact;Inscrit le (heure de Paris)\n" +
		"Je viens;confirmée;page web;web:1;Léa;;2026-12-04 14:31\n" +
		"Je viens;liste d’attente;par téléphone;editor:2;'=Jo;;2026-12-04 14:31\n"
	if buf.String() != want {
		t.Errorf("sheet:\n%q\nwant\n%q", buf.String(), want)
	}
}
