package feeds

import (
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

func TestExcerptKeepsWhatAContentWarningHides(t *testing.T) {
	l := locale.For("en")
	a := board.Announcement{Kind: board.KindNews, Title: "Committee", HTML: "<p>The treasurer resigned.</p>"}
	if got := Excerpt(l, a); !strings.Contains(got, "The treasurer resigned.") {
		t.Fatalf("excerpt %q", got)
	}
	a.ContentWarning = "internal matters"
	if got := Excerpt(l, a); got != "internal matters" {
		t.Errorf("behind a warning, the excerpt is %q", got)
	}
	start := time.Date(2026, 12, 20, 14, 0, 0, 0, time.UTC)
	ev := board.Announcement{Kind: board.KindEvent, Title: "Party", HTML: "<p>Surprise guest: Ada.</p>", ContentWarning: "spoilers", Event: &board.Event{Start: start, Place: "Secret place"}}
	if got := Excerpt(l, ev); strings.Contains(got, "Ada") || strings.Contains(got, "Secret place") {
		t.Errorf("an event's excerpt shows what its warning hides: %q", got)
	}
}

// Mastodon reads JSON-LD only of @type NewsArticle or WebPage
// (app/lib/link_details_extractor.rb): news, calls, campaigns and outages
// are NewsArticles with the preview's image and the board as publisher;
// events keep their Event types.
func TestSchemaOrgTypesAndImage(t *testing.T) {
	l := locale.For("en")
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	pic := Picture{URL: "https://b.example/boards/news/media/x.jpg/card.jpg", Type: "image/jpeg", Width: 1200, Height: 630}
	for _, k := range []board.Kind{board.KindNews, board.KindCall, board.KindCampaign, board.KindOutage} {
		a := board.Announcement{Kind: k, Title: "T", CreatedAt: now, UpdatedAt: now}
		doc := SchemaOrg(l, a, "https://b.example/boards/news/a/1", "News", "https://b.example/boards/news", pic, "https://b.example/boards/news/icon.png")
		if doc["@type"] != "NewsArticle" || doc["headline"] != "T" || doc["image"] != pic.URL {
			t.Errorf("%s: %v", k, doc)
		}
		pub, _ := doc["publisher"].(map[string]any)
		if pub["name"] != "News" || pub["logo"].(map[string]any)["url"] != "https://b.example/boards/news/icon.png" {
			t.Errorf("%s: publisher %v", k, pub)
		}
	}
	ev := board.Announcement{Kind: board.KindEvent, Title: "E", Event: &board.Event{Start: now}}
	if doc := SchemaOrg(l, ev, "u", "News", "b", pic, ""); doc["@type"] != "Event" || doc["image"] != pic.URL {
		t.Errorf("event: %v", doc)
	}
}
