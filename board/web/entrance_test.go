package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
)

// section is the HTML of the entrance's section whose heading is id.
func sectionOf(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section[^>]*aria-labelledby="` + id + `".*?</section>`).FindString(page)
	if m == "" {
		t.Fatalf("no section %s in:\n%s", id, page)
	}
	return m
}

// The board's address is an entrance: now (open calls, running
// campaigns), what is coming soonest first, the latest news, and the
// outages as banners, ongoing first; nothing past, closed, ended or not
// yet published.
func TestEntranceShowsNowComingAndNews(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	now := time.Now()
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	mk := func(d board.Draft) board.Announcement {
		t.Helper()
		a, _, err := svc.Create(ctx, board.System, b, d, "")
		if err != nil {
			t.Fatalf("%s: %v", d.Title, err)
		}
		return a
	}
	roles := []board.Role{{Name: "cook", Places: 2}}
	mk(board.Draft{Title: "Old news", Body: "Long ago."})
	mk(board.Draft{Title: "Fresh news", Body: "Just now, **bold**."})
	mk(board.Draft{Title: "Hidden news", ContentWarning: "spoilers", Body: "The secret ending."})
	mk(board.Draft{Title: "Draft news", KeepDraft: true})
	mk(board.Draft{Kind: board.KindEvent, Title: "Later party", Event: &board.Event{Start: *at(72 * time.Hour)}})
	mk(board.Draft{Kind: board.KindEvent, Title: "Sooner party", Event: &board.Event{Start: *at(24 * time.Hour)}})
	mk(board.Draft{Kind: board.KindEvent, Title: "Past party", Event: &board.Event{Start: *at(-48 * time.Hour)}})
	mk(board.Draft{Kind: board.KindEvent, Title: "Draft party", KeepDraft: true, Event: &board.Event{Start: *at(48 * time.Hour)}})
	mk(board.Draft{Kind: board.KindCall, Title: "Open call", Call: &board.Call{Roles: roles, Contact: "a@example.org"}})
	closed := mk(board.Draft{Kind: board.KindCall, Title: "Closed call", Call: &board.Call{Roles: roles, Contact: "a@example.org"}})
	if _, err := svc.SetClosed(ctx, board.System, b, closed.ID, true); err != nil {
		t.Fatal(err)
	}
	mk(boardtest.CampaignDraft(nil))
	mk(board.Draft{Kind: board.KindOutage, Title: "Planned works", Outage: &board.Outage{Service: "cloud", From: *at(3 * time.Hour)}})
	mk(board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: *at(-time.Hour)}})
	mk(board.Draft{Kind: board.KindOutage, Title: "Draft outage", KeepDraft: true, Outage: &board.Outage{Service: "web", From: *at(-time.Hour)}})

	get := publicPages(t, rig)
	resp, page := get("/boards/news")
	if resp.StatusCode != 200 {
		t.Fatalf("entrance: %d", resp.StatusCode)
	}
	nowSec, coming, news := sectionOf(t, page, "now-h"), sectionOf(t, page, "coming-h"), sectionOf(t, page, "news-h")
	for _, c := range []struct {
		where, section string
		in, out        []string
	}{
		{"now", nowSec, []string{"Open call", boardtest.CampaignDraft(nil).Title, "<progress"}, []string{"Closed call", "Fresh news", "party"}},
		{"coming", coming, []string{"Sooner party", "Later party", `class="badge"`}, []string{"Past party", "Draft party"}},
		{"news", news, []string{"Fresh news", "Old news", "Just now, bold.", "<strong>Content warning:</strong> spoilers"}, []string{"Draft news", "The secret ending", "party", "Open call"}},
	} {
		for _, s := range c.in {
			if !strings.Contains(c.section, s) {
				t.Errorf("%s lacks %q:\n%s", c.where, s, c.section)
			}
		}
		for _, s := range c.out {
			if strings.Contains(c.section, s) {
				t.Errorf("%s shows %q:\n%s", c.where, s, c.section)
			}
		}
	}
	if strings.Index(coming, "Sooner party") > strings.Index(coming, "Later party") {
		t.Error("coming: the later event comes first")
	}
	ongoing, planned := strings.Index(page, "Ongoing outage:"), strings.Index(page, "Planned maintenance:")
	if ongoing < 0 || planned < 0 || ongoing > planned || strings.Contains(page, "Draft outage") {
		t.Errorf("banners: ongoing at %d, planned at %d; a draft shown: %v", ongoing, planned, strings.Contains(page, "Draft outage"))
	}
	// The board's colour, on its band; the page's stylesheet.
	if !strings.Contains(page, "<style>:root{--accent:"+b.Accent()+"}</style>") || !strings.Contains(page, `class="masthead"`) {
		t.Error("the page is not in the board's colour")
	}
	// Drafts stay off the events and status pages too.
	for _, path := range []string{"/boards/news/events", "/boards/news/status", "/boards/news/calls", "/boards/news/news", "/boards/news/all"} {
		if _, p := get(path); strings.Contains(p, "Draft ") {
			t.Errorf("%s shows a draft", path)
		}
	}
	if _, p := get("/boards/news/calls"); !strings.Contains(p, "Closed call") || !strings.Contains(p, "Open call") || strings.Contains(p, "party") {
		t.Errorf("the calls page lists every call, and only calls and campaigns:\n%s", p)
	}
}

// The widget is framed on other sites: it is kept briefly, asked again
// with its ETag (304 when nothing changed), and says a training was
// cancelled and a campaign ended.
func TestWidgetRevalidatesAndSaysCancelled(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	tr, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindTraining, Title: "Git for beginners",
		Event: &board.Event{Start: time.Now().Add(48 * time.Hour)}, Training: &board.Training{Seats: 5}}, "")
	if err != nil {
		t.Fatal(err)
	}
	get := publicPages(t, rig)
	resp, _ := get("/boards/news/widget")
	etag := resp.Header.Get("ETag")
	cc := resp.Header.Get("Cache-Control")
	m := regexp.MustCompile(`max-age=(\d+)`).FindStringSubmatch(cc)
	if etag == "" || m == nil || len(m[1]) > 2 {
		t.Fatalf("widget: ETag %q, Cache-Control %q: want an ETag and a max-age under 100 s", etag, cc)
	}
	if resp, body := get("/boards/news/widget", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("unchanged widget asked again: %d, %d bytes", resp.StatusCode, len(body))
	}
	if _, err := svc.Cancel(ctx, board.System, b, tr.ID, true); err != nil {
		t.Fatal(err)
	}
	resp, body := get("/boards/news/widget", "If-None-Match", etag)
	if resp.StatusCode != 200 || !strings.Contains(body, `class="state state-cancelled">cancelled<`) {
		t.Errorf("after the training was cancelled: %d\n%s", resp.StatusCode, body)
	}
}

// The events page shows every coming event and the past ones a page at a
// time, latest first.
func TestPastEventsArePaged(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	for i := range 23 {
		d := board.Draft{Kind: board.KindEvent, Title: fmt.Sprintf("Meeting %02d", i), Event: &board.Event{Start: time.Now().Add(-time.Duration(23-i) * 24 * time.Hour)}}
		if _, _, err := rig.Service.Create(ctx, board.System, rig.Board, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	get := publicPages(t, rig)
	_, first := get("/boards/news/events")
	older := regexp.MustCompile(`href="([^"]*/events\?page=2)">Older`).FindStringSubmatch(first)
	if older == nil || !strings.Contains(first, "Meeting 22") || !strings.Contains(first, "Meeting 03") || strings.Contains(first, "Meeting 02") {
		t.Fatalf("first page of past events:\n%s", first)
	}
	_, second := get("/boards/news/events?page=2")
	if !strings.Contains(second, "Meeting 02") || !strings.Contains(second, "Meeting 00") || strings.Contains(second, "Meeting 03") || strings.Contains(second, ">Older<") || !strings.Contains(second, ">Newest<") {
		t.Fatalf("second page of past events:\n%s", second)
	}
}

// The language switcher keeps what the address asked for.
func TestLanguageSwitcherKeepsTheQuery(t *testing.T) {
	get := publicPages(t, boardtest.New(t))
	_, page := get("/boards/news/all?tag=panne&before=9&lang=en")
	if !strings.Contains(page, `href="?before=9&amp;tag=panne&amp;lang=fr"`) {
		t.Errorf("the switcher to French drops the tag or the page:\n%s", page)
	}
}
