package mattermost

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"crieur/board"
	"crieur/board/locale"
)

func TestRenderForMattermost(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	a := board.Announcement{Kind: board.KindEvent, Title: "Install *party*", Body: "Bring a laptop, @channel and @alice.\n\nMail us: fair@example.org, https://example.org/@bob",
		Tags: []string{"linux"}, Event: &board.Event{Start: start, Place: "Room 101", URL: "https://example.org/party"}}
	got := Render(enParis, a, "https://board.example/boards/news/a/1", false, nil)
	for _, want := range []string{"#### Event: Install \\*party\\*", "- **When:** Sat 5 Dec 2026, 14:00 (Paris time)", "- **More:** [https://example.org/party](https://example.org/party)",
		"@\u2060channel", "@\u2060alice", "fair@example.org", "https://example.org/@bob", "#linux", "https://board.example/boards/news/a/1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "@channel") {
		t.Error("@channel would ping the whole channel")
	}
	// Slack's forms, which Mattermost expands in a webhook's text (issue
	// 23, point 9), in the body and in the title.
	slack := a
	slack.Title, slack.Body = "Hi <!here>", "Dear <!channel>, <!all> and <@U123>."
	for _, form := range []string{"<!here>", "<!channel>", "<!all>", "<@U123>"} {
		if got := Render(enParis, slack, "L", false, nil); strings.Contains(got, form) {
			t.Errorf("%s reaches Mattermost as is:\n%s", form, got)
		}
	}
	a.ContentWarning = "food"
	if cw := Render(enParis, a, "L", false, nil); strings.Contains(cw, "Bring a laptop") || !strings.Contains(cw, "Content warning: food") {
		t.Errorf("behind a content warning the text shows:\n%s", cw)
	}
	a.ContentWarning = ""
	a.Body = strings.Repeat("A long paragraph of words. ", 400)
	if long := Render(enParis, a, "https://board.example/boards/news/a/1", false, nil); !strings.Contains(long, a.Body[:len(a.Body)-1]) || !strings.HasSuffix(long, "https://board.example/boards/news/a/1") {
		t.Errorf("a long text: %d characters, ends %q", len(long), long[len(long)-80:])
	}
	if up := Render(enParis, a, "L", true, nil); up != "**Updated: Install \\*party\\*** (Event): L" {
		t.Errorf("follow-up: %q", up)
	}
	tr := board.Announcement{Kind: board.KindTraining, Title: "Git", Training: &board.Training{Seats: 3, Cancelled: true}}
	if up := Render(enParis, tr, "L", true, nil); up != "**Cancelled: Git** (Training): L" {
		t.Errorf("a cancellation's follow-up: %q", up)
	}
	tr.Training = &board.Training{Seats: 3, BackOn: true}
	if up := Render(enParis, tr, "L", true, nil); up != "**Back on: Git** (Training): L" {
		t.Errorf("an undone cancellation's follow-up: %q", up)
	}
}

// enParis is how a board in Paris renders an English announcement.
var enParis = func() locale.Locale {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return locale.For("en").InZone(paris)
}()

// Issue 24, point 7: a text of 2,500 "é" (5,000 bytes) goes whole in one
// post; 19,132 characters go as two posts of at most 16,383 characters
// (Mattermost's PostMessageMaxRunesV2), cut at a paragraph, in order,
// marked, with every word kept; one word of 40,000 characters in three.
func TestPostsFitMattermostsLimit(t *testing.T) {
	link := "https://board.example/boards/news/a/1"
	accents := board.Announcement{Kind: board.KindNews, Title: "É", Body: strings.Repeat("é", 2500)}
	if posts := Posts(enParis, Render(enParis, accents, link, false, nil)); len(posts) != 1 || !strings.Contains(posts[0], accents.Body) {
		t.Errorf("2,500 é: %d posts", len(posts))
	}
	var paras []string
	for i := 0; len(strings.Join(paras, "\n\n")) < 19_132; i++ {
		paras = append(paras, fmt.Sprintf("Paragraph %d: %s", i, strings.Repeat("word ", 60)))
	}
	long := board.Announcement{Kind: board.KindNews, Title: "Long", Body: strings.Join(paras, "\n\n")}
	posts := Posts(enParis, Render(enParis, long, link, false, nil))
	if len(posts) != 2 || !strings.HasSuffix(posts[0], "(1/2)") || !strings.HasSuffix(posts[1], "(2/2)") || !strings.Contains(posts[1], link) {
		t.Fatalf("%d posts", len(posts))
	}
	joined := strings.Join(posts, " ")
	for i, p := range posts {
		if n := utf8.RuneCountInString(p); n > maxRunes {
			t.Errorf("post %d has %d characters", i, n)
		}
	}
	for _, para := range paras {
		if !strings.Contains(joined, strings.TrimSpace(para)) {
			t.Fatalf("a paragraph is cut or lost: %.40q", para)
		}
	}
	word := board.Announcement{Kind: board.KindNews, Title: "Word", Body: strings.Repeat("x", 40_000)}
	// The heading is a paragraph of its own: it goes first, then the word
	// in three.
	if posts := Posts(enParis, Render(enParis, word, link, false, nil)); len(posts) != 4 || strings.Count(strings.Join(posts, ""), "x") != 40_000+strings.Count(link, "x") {
		t.Errorf("one word of 40,000 characters: %d posts", len(posts))
	}
}

// Issue 24, point 9: a follow-up says what changed, as it now reads.
func TestFollowUpsSayWhatChanged(t *testing.T) {
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	ev := board.Announcement{Kind: board.KindEvent, Title: "Install party", Event: &board.Event{Start: start, Place: "Room 101"}}
	if up := Render(enParis, ev, "L", true, []string{board.ChangeWhen}); up != "**Updated: Install party** (Event): L\n- **New time:** Sat 5 Dec 2026, 19:00 (Paris time)" {
		t.Errorf("a new time: %q", up)
	}
	resolved := start.Add(2 * time.Hour)
	out := board.Announcement{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: start, Resolved: &resolved}}
	if up := Render(enParis, out, "L", true, []string{board.ChangeResolved}); up != "**Resolved: Mail down** (Service outage): L\n- **Resolved:** Sat 5 Dec 2026, 21:00 (Paris time)" {
		t.Errorf("resolved: %q", up)
	}
	before := ev
	after := ev
	e := *ev.Event
	e.Start, e.Place = start.Add(time.Hour), "Room 102"
	after.Event = &e
	if got := board.Changes(before, after); len(got) != 2 || got[0] != board.ChangeWhen || got[1] != board.ChangeWhere {
		t.Errorf("changes %v", got)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	fr := Render(locale.For("fr").InZone(paris), after, "L", true, board.Changes(before, after))
	if !strings.Contains(fr, "Nouvel horaire") || !strings.Contains(fr, "Nouveau lieu\u202F:** Room 102") {
		t.Errorf("in French: %q", fr)
	}
}
