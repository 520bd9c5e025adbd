package feeds

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"crieur/board/boardtest"
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
