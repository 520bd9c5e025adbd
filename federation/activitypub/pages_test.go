package activitypub

// The public face as readers meet it: pages, feeds and calendars, read
// with real parsers (gofeed, golang-ical).

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/mmcdole/gofeed"

	"crieur/board"
)

func TestAnnouncementPageHeadingsTagsAndErrors(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Assembly", Body: "# Agenda\n\nTalk.\n\n## Details\n\nMore.", Tags: []string{"asso"}}, "")
	code, ct, body := get(t, fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID), "text/html")
	page := string(body)
	if code != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("page: %d %s", code, ct)
	}
	if n := strings.Count(page, "<h1"); n != 1 || !strings.Contains(page, "<h1>Assembly</h1>") || !strings.Contains(page, "<h2>Agenda</h2>") || !strings.Contains(page, "<h3>Details</h3>") {
		t.Errorf("headings: %d h1\n%s", n, page)
	}
	if !strings.Contains(page, `href="`+hs.URL+`/boards/news/all?tag=asso" rel="tag"`) {
		t.Errorf("the tag is no link:\n%s", page)
	}
	if !strings.Contains(page, `type="application/atom+xml"`) {
		t.Errorf("no feed discovery link")
	}
	// An address nobody registered is the same page, not net/http's bare
	// text; the API keeps its own answers.
	for _, path := range []string{"/boards/news/a/999", "/boards/news/nimportequoi", "/nowhere", "/boards/news/a/1/nothing"} {
		code, ct, body = get(t, hs.URL+path, "text/html")
		if code != 404 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "<h1>Not found</h1>") || !strings.Contains(string(body), `<html lang="en">`) {
			t.Errorf("%s: 404 page: %d %s %s", path, code, ct, body)
		}
		// The way back (the board, under a board's address) and the
		// footer every page has: the language links, keeping the address.
		if strings.HasPrefix(path, "/boards/news/") != strings.Contains(string(body), `<a class="button" href="/boards/news">The board’s page</a>`) ||
			!strings.Contains(string(body), `<a href="`+path+`?lang=fr" hreflang="fr" lang="fr">Français</a>`) || !strings.Contains(string(body), "Published with Crieur.") {
			t.Errorf("%s: the 404 page's links:\n%s", path, body)
		}
	}
	// A page's address with a slash at the end leads to the page (a
	// trial typed /boards/NAME/ and met "not found").
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{"/boards/news/": "/boards/news", "/boards/news/status/": "/boards/news/status", "/boards/news/events//?lang=fr": "/boards/news/events?lang=fr"} {
		resp, err := noFollow.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	if code, ct, _ = get(t, hs.URL+"/api/v1/nowhere", ""); code != 404 || strings.HasPrefix(ct, "text/html") {
		t.Errorf("an unknown API address: %d %s, want 404 without a page", code, ct)
	}
}

func TestBoardPagination(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	for i := range 25 {
		svc.Create(ctx, board.System, b, board.Draft{Title: fmt.Sprintf("Post %02d", i)}, "")
	}
	// The entrance shows the latest few and links to the rest.
	_, _, body := get(t, hs.URL+"/boards/news", "text/html")
	if !strings.Contains(string(body), "Post 24") || !strings.Contains(string(body), "Post 19") || strings.Contains(string(body), "Post 18") || !strings.Contains(string(body), `href="`+hs.URL+`/boards/news/news"`) {
		t.Fatalf("entrance:\n%s", body)
	}
	for _, start := range []string{"/boards/news/all", "/boards/news/news"} {
		_, _, body = get(t, hs.URL+start, "text/html")
		older := regexp.MustCompile(`href="` + regexp.QuoteMeta(hs.URL+start) + `(\?before=\d+)">Older`).FindStringSubmatch(string(body))
		if older == nil || !strings.Contains(string(body), "Post 24") || !strings.Contains(string(body), "Post 01") || strings.Contains(string(body), "Post 00") {
			t.Fatalf("%s, first page:\n%s", start, body)
		}
		_, _, body = get(t, hs.URL+start+older[1], "text/html")
		if !strings.Contains(string(body), "Post 00") || strings.Contains(string(body), "Post 01") || strings.Contains(string(body), ">Older<") || !strings.Contains(string(body), ">Newest<") {
			t.Fatalf("%s, second page:\n%s", start, body)
		}
	}
	// The board's address with ?before= (its list's pages before it had an
	// entrance) still pages through every announcement.
	_, _, body = get(t, hs.URL+"/boards/news?before=2", "text/html")
	if !strings.Contains(string(body), "Post 00") || strings.Contains(string(body), "Post 01") {
		t.Fatalf("an old page address:\n%s", body)
	}
}

func TestAtomFeedParses(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	svc.Create(ctx, board.System, b, board.Draft{Title: "Hello & welcome", Body: "Some **text**.", Tags: []string{"asso"}}, "")
	// Deleted ones, in the tag's and the kind's feeds too: they leave every feed.
	gone, _, _ := svc.Create(ctx, board.System, b, board.Draft{Title: "Mistake", Tags: []string{"asso"}}, "")
	goneOutage, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "False alarm", Outage: &board.Outage{Service: "web", From: time.Now()}}, "")
	svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: time.Now()}}, "")
	svc.Delete(ctx, board.System, b, gone.ID)
	svc.Delete(ctx, board.System, b, goneOutage.ID)
	parse := func(path string) *gofeed.Feed {
		code, ct, body := get(t, hs.URL+path, "")
		if code != 200 || !strings.HasPrefix(ct, "application/atom+xml") {
			t.Fatalf("%s: %d %s", path, code, ct)
		}
		f, err := gofeed.NewParser().ParseString(string(body))
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", path, err, body)
		}
		return f
	}
	f := parse("/boards/news/feed.atom")
	if f.FeedType != "atom" || len(f.Items) != 2 || f.Items[1].Title != "News: Hello & welcome" || !strings.Contains(f.Items[1].Content, "<strong>text</strong>") {
		t.Fatalf("feed: %s, %d items", f.FeedType, len(f.Items))
	}
	for _, it := range f.Items {
		if strings.Contains(it.Title, "Mistake") || strings.Contains(it.Title, "False alarm") {
			t.Error("a deleted announcement is in the feed")
		}
	}
	if f := parse("/boards/news/feed.atom?tag=asso"); len(f.Items) != 1 {
		t.Errorf("tag feed: %d items", len(f.Items))
	}
	if f := parse("/boards/news/feed.atom?kind=outage"); len(f.Items) != 1 || !strings.Contains(f.Items[0].Content, "mail") {
		t.Errorf("outage feed: %+v", f.Items)
	}
}

func TestCalendarsParseAndKeepTheInstant(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	paris := time.FixedZone("", 3600)
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, paris)
	end := start.Add(3 * time.Hour)
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Install party", Body: "Bring a laptop.",
		Event: &board.Event{Start: start, End: &end, Place: "Salle des fêtes, 3 rue X"}}, "")
	gone, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Cancelled", Event: &board.Event{Start: start}}, "")
	svc.Delete(ctx, board.System, b, gone.ID)
	for _, path := range []string{"/boards/news/events.ics", fmt.Sprintf("/boards/news/a/%d/event.ics", a.ID)} {
		code, ct, body := get(t, hs.URL+path, "")
		if code != 200 || !strings.HasPrefix(ct, "text/calendar") {
			t.Fatalf("%s: %d %s", path, code, ct)
		}
		cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", path, err, body)
		}
		if n, crlf := strings.Count(string(body), "\n"), strings.Count(string(body), "\r\n"); n != crlf {
			t.Errorf("%s: %d of %d lines end in CRLF (RFC 5545 wants all)", path, crlf, n)
		}
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("%s: %d events, want the live one", path, len(events))
		}
		ev := events[0]
		st, err1 := ev.GetStartAt()
		en, err2 := ev.GetEndAt()
		if err1 != nil || err2 != nil || !st.Equal(start) || !en.Equal(end) {
			t.Errorf("%s: times %v–%v (%v %v), want %v–%v", path, st, en, err1, err2, start, end)
		}
		if p := ev.GetProperty(ics.ComponentPropertyLocation); p == nil || p.Value != "Salle des fêtes, 3 rue X" {
			t.Errorf("%s: location %v", path, p)
		}
		if p := ev.GetProperty(ics.ComponentPropertySummary); p == nil || p.Value != "Install party" {
			t.Errorf("%s: summary %v", path, p)
		}
	}
}

// A trial found no maintenance in any calendar, and an empty calendar
// without a component (RFC 5545 wants one). events.ics?kind=outage, which
// the status page links, has the outage notices as the times their
// services are down; an empty one carries the board's zone.
func TestCalendarOfOutages(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	read := func(path string) *ics.Calendar {
		t.Helper()
		code, _, body := get(t, hs.URL+path, "")
		cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
		if code != 200 || err != nil {
			t.Fatalf("%s: %d %v\n%s", path, code, err, body)
		}
		return cal
	}
	if cal := read("/boards/news/events.ics?kind=outage"); len(cal.Components) == 0 {
		t.Errorf("an empty calendar has no component")
	}
	from := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	until := from.Add(2 * time.Hour)
	svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail server upgrade", Language: "en", Body: "First, a backup.\n\nThen the upgrade.",
		Outage: &board.Outage{Service: "mail", From: from, Until: &until}}, "")
	svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Install party", Event: &board.Event{Start: from}}, "")
	events := read("/boards/news/events.ics?kind=outage").Events()
	if len(events) != 1 {
		t.Fatalf("%d events in the outages' calendar, want the maintenance", len(events))
	}
	st, err1 := events[0].GetStartAt()
	en, err2 := events[0].GetEndAt()
	summary := events[0].GetProperty(ics.ComponentPropertySummary)
	if err1 != nil || err2 != nil || !st.Equal(from) || !en.Equal(until) || summary == nil || summary.Value != "Maintenance: Mail server upgrade" {
		t.Errorf("the maintenance: %v–%v (%v %v), summary %v", st, en, err1, err2, summary)
	}
	// An outage going on, its end not known: it lasts past now, not a
	// moment (a trial's calendar read it as lasting no time).
	svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Pads down", Language: "en",
		Outage: &board.Outage{Service: "pad", From: time.Now().Add(-10 * time.Minute)}}, "")
	found := false
	for _, ev := range read("/boards/news/events.ics?kind=outage").Events() {
		if p := ev.GetProperty(ics.ComponentPropertySummary); p == nil || p.Value != "Service outage: Pads down" {
			continue
		}
		found = true
		if en, err := ev.GetEndAt(); err != nil || !en.After(time.Now()) {
			t.Errorf("the ongoing outage ends at %v (%v)", en, err)
		}
	}
	if !found {
		t.Errorf("the ongoing outage is not in the calendar")
	}
	// Its text keeps its paragraphs, as the calendar's lines (RFC 5545
	// writes a line break as \n).
	if _, _, raw := get(t, hs.URL+"/boards/news/events.ics?kind=outage", ""); !strings.Contains(strings.ReplaceAll(string(raw), "\r\n ", ""), `First\, a backup.\nThen the upgrade.`) {
		t.Errorf("the description lost its paragraphs:\n%s", raw)
	}
	if n := len(read("/boards/news/events.ics").Events()); n != 1 {
		t.Errorf("%d events in the events' calendar, want the install party alone", n)
	}
	for _, path := range []string{"/boards/news/status", "/boards/news/a/1"} {
		if _, _, page := get(t, hs.URL+path, "text/html"); !strings.Contains(string(page), "/boards/news/events.ics?kind=outage") {
			t.Errorf("%s does not link the outages' calendar", path)
		}
	}
}

// On a board with a time zone, an event typed in that zone reaches the
// calendar in it (TZID and a VTIMEZONE from the tz database), winter and
// summer; one typed with another offset keeps its instant in UTC.
func TestCalendarsKeepTheBoardsZone(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	b.TimeZone = "Mars/Olympus"
	if _, err := svc.SetBoard(ctx, b); err == nil {
		t.Fatal("an unknown zone was accepted")
	}
	b.TimeZone = "Europe/Paris"
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("", 3600))
	summer := time.Date(2027, 7, 1, 10, 30, 0, 0, time.FixedZone("", 2*3600))
	elsewhere := time.Date(2027, 1, 10, 9, 0, 0, 0, time.FixedZone("", 5*3600))
	for _, st := range []time.Time{winter, summer, elsewhere} {
		if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: st.Format(time.RFC3339), Event: &board.Event{Start: st}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body := get(t, hs.URL+"/boards/news/events.ics", "")
	cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, body)
	}
	if tzs := cal.Timezones(); len(tzs) != 1 || tzs[0].GetProperty(ics.ComponentPropertyTzid).Value != "Europe/Paris" {
		t.Fatalf("want one VTIMEZONE Europe/Paris:\n%s", body)
	}
	got := map[string]time.Time{}
	for _, ev := range cal.Events() {
		st, err := ev.GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		summary := ev.GetProperty(ics.ComponentPropertySummary)
		got[summary.Value] = st
		if lang := summary.ICalParameters["LANGUAGE"]; len(lang) != 1 || lang[0] != "en" {
			t.Errorf("SUMMARY's LANGUAGE %v, want en (the board's)", lang)
		}
	}
	for _, want := range []time.Time{winter, summer} {
		st := got[want.Format(time.RFC3339)]
		if !st.Equal(want) || st.Location().String() != "Europe/Paris" || st.Hour() != want.Hour() || st.Minute() != want.Minute() {
			t.Errorf("%s came back as %s (%s)", want.Format(time.RFC3339), st, st.Location())
		}
	}
	if st := got[elsewhere.Format(time.RFC3339)]; !st.Equal(elsewhere) || st.Location() != time.UTC {
		t.Errorf("an event at +05:00 came back as %s (%s), want its instant in UTC", st, st.Location())
	}
	// The page shows every time in the board's zone, named as a reader
	// says it, whatever offset it was typed with (+05:00 included).
	_, _, page := get(t, hs.URL+"/boards/news/events", "text/html")
	for _, want := range []string{"Sat 5 Dec 2026, 14:00 (Paris time)", "Thu 1 Jul 2027, 10:30 (Paris time)", "Sun 10 Jan 2027, 05:00 (Paris time)", "Times are in Paris time."} {
		if !strings.Contains(html.UnescapeString(string(page)), want) {
			t.Errorf("the events page lacks %q", want)
		}
	}
	for _, raw := range []string{"(CET)", "(CEST)", "+0500", "Europe/Paris"} {
		if strings.Contains(string(page), raw) {
			t.Errorf("the events page shows %q, which readers do not say", raw)
		}
	}
	// The VTIMEZONE carries the real changes: clocks go forward at 02:00
	// on 28 March 2027, the summer event's year.
	if !strings.Contains(string(body), "BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200") {
		t.Errorf("the VTIMEZONE lacks 2027's change to summer time:\n%s", body)
	}
}

// An ongoing outage shows a banner; marking it resolved shows it resolved
// and sends an Update with the time.
func TestOutageBannerAndResolution(t *testing.T) {
	s, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/inbox"})
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: time.Now().Add(-time.Hour)}}, "")
	activities(t, s, svc)
	_, _, body := get(t, hs.URL+"/boards/news", "text/html")
	if !strings.Contains(string(body), "Ongoing outage:") || !strings.Contains(string(body), `<p class="banner" role="status">`) {
		t.Fatalf("no banner:\n%s", body)
	}
	if _, err := svc.ResolveOutage(ctx, board.System, b, a.ID); err != nil {
		t.Fatal(err)
	}
	_, _, body = get(t, hs.URL+"/boards/news", "text/html")
	if strings.Contains(string(body), "Ongoing outage:") {
		t.Fatalf("still shown as ongoing:\n%s", body)
	}
	_, _, body = get(t, fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID), "text/html")
	if !strings.Contains(string(body), "state-resolved") {
		t.Fatalf("its page does not say it is resolved:\n%s", body)
	}
	acts := activities(t, s, svc)
	if len(acts) != 1 || acts[0]["type"] != "Update" {
		t.Fatalf("resolving sent %v", acts)
	}
	obj, _ := acts[0]["object"].(map[string]any)
	if c, _ := obj["content"].(string); !strings.Contains(c, "Resolved: ") {
		t.Fatalf("the Update does not say it is resolved: %s", c)
	}
}

// A link shared on Mastodon, Matrix or a chat shows a card: Open Graph and
// twitter: tags, a canonical URL, and schema.org data for search engines.
func TestLinkPreviews(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: `Party "at" <home>`, Body: "Bring **food**.",
		Event: &board.Event{Start: start, Place: "Hall"}}, "")
	_, _, body := get(t, fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID), "text/html")
	page := string(body)
	url := fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID)
	for _, want := range []string{
		`<meta property="og:title" content="Party &#34;at&#34; &lt;home&gt;">`,
		`<meta property="og:url" content="` + url + `">`,
		`<meta name="twitter:card" content="summary">`,
		`<link rel="canonical" href="` + url + `">`,
		`Where: Hall. Bring food.`, // facts first, then the text
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s\n%s", want, regexp.MustCompile(`<meta name="description"[^>]*>`).FindString(page))
		}
	}
	m := regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no JSON-LD:\n%s", page)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(m[1]), &doc); err != nil {
		t.Fatalf("JSON-LD does not parse: %v\n%s", err, m[1])
	}
	if doc["@type"] != "Event" || doc["startDate"] != "2026-12-05T14:00:00Z" || doc["name"] != `Party "at" <home>` {
		t.Errorf("JSON-LD: %v", doc)
	}
	_, _, body = get(t, hs.URL+"/boards/news", "text/html")
	if !strings.Contains(string(body), `<link rel="me" href="`+hs.URL+`/boards/news">`) {
		t.Errorf("the board page has no rel=me link")
	}
}

// The events view lists what is coming first, soonest first; the status
// page separates current outages from past ones.
func TestEventsAndStatusPages(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	now := time.Now()
	ev := func(title string, start time.Time) {
		svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: title, Event: &board.Event{Start: start}}, "")
	}
	ev("Later", now.Add(72*time.Hour))
	ev("Sooner", now.Add(24*time.Hour))
	ev("Last week", now.Add(-7*24*time.Hour))
	_, _, body := get(t, hs.URL+"/boards/news/events", "text/html")
	page := string(body)
	iSooner, iLater, iPast := strings.Index(page, "Sooner"), strings.Index(page, "Later"), strings.Index(page, "Last week")
	if iSooner < 0 || iLater < iSooner || iPast < iLater || !strings.Contains(page, "Past events") {
		t.Fatalf("events view order: sooner %d later %d past %d\n%s", iSooner, iLater, iPast, page)
	}
	_, _, body = get(t, hs.URL+"/boards/news/status", "text/html")
	if !strings.Contains(string(body), "All services are working as usual") {
		t.Fatalf("status without outages:\n%s", body)
	}
	svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: now.Add(-time.Hour)}}, "")
	old, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Pad slow", Outage: &board.Outage{Service: "pad", From: now.Add(-48 * time.Hour)}}, "")
	svc.ResolveOutage(ctx, board.System, b, old.ID)
	_, _, body = get(t, hs.URL+"/boards/news/status", "text/html")
	page = string(body)
	if !strings.Contains(page, "Current and planned outages") || !strings.Contains(page, "Mail down") || !strings.Contains(page, "<td>pad</td>") || !regexp.MustCompile(`<td>[^<]+ – [^<]+</td></tr>`).MatchString(page) {
		t.Fatalf("status page:\n%s", page)
	}
}

// Drafts and scheduled announcements are for editors only: no public page
// or document lists them (the calendar feed once did, place and all).
func TestPublicListsLeaveDraftsOut(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	now := time.Now()
	later := now.Add(48 * time.Hour)
	for _, d := range []board.Draft{
		{Kind: board.KindEvent, Title: "Secret board meeting", KeepDraft: true, Event: &board.Event{Start: now.Add(72 * time.Hour), Place: "The chair's flat"}},
		{Kind: board.KindTraining, Title: "Scheduled training", PublishAt: &later, Event: &board.Event{Start: now.Add(96 * time.Hour)},
			Training: &board.Training{Seats: 5}},
		{Kind: board.KindOutage, Title: "Draft outage", KeepDraft: true, Outage: &board.Outage{Service: "mail", From: now.Add(-time.Hour)}},
		{Kind: board.KindEvent, Title: "Open evening", Event: &board.Event{Start: now.Add(24 * time.Hour)}},
	} {
		if _, _, err := svc.Create(ctx, board.System, b, d, ""); err != nil {
			t.Fatalf("%s: %v", d.Title, err)
		}
	}
	for _, path := range []string{"/boards/news/events.ics", "/boards/news/events", "/boards/news", "/boards/news/status", "/boards/news/status.json", "/boards/news/services"} {
		_, _, body := get(t, hs.URL+path, "text/html")
		for _, hidden := range []string{"Secret board meeting", "The chair", "Scheduled training", "Draft outage"} {
			if strings.Contains(string(body), hidden) {
				t.Errorf("%s shows %q, which is not published", path, hidden)
			}
		}
		if (path == "/boards/news/events.ics" || path == "/boards/news/events") && !strings.Contains(string(body), "Open evening") {
			t.Errorf("%s leaves out the published event:\n%s", path, body)
		}
	}
}

// The list of calls says which no longer take sign-ups (every role full,
// here), as the call's own page does, and not of one that does.
func TestCallsListSaysWhichAreClosed(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	full, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Bar staff",
		Call: &board.Call{Roles: []board.Role{{Name: "bar", Places: 1}}, Contact: "x@example.org"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SignUp(ctx, b, full.ID, board.Person{Kind: board.PersonWeb, ID: "ann", Name: "Ann"}, []string{"bar"}, board.Origin{ID: "test:ann"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "x@example.org"}}, ""); err != nil {
		t.Fatal(err)
	}
	_, _, body := get(t, hs.URL+"/boards/news/calls", "text/html")
	page := string(body)
	iBar, iCooks := strings.Index(page, "Bar staff"), strings.Index(page, "Cooks")
	if iBar < 0 || iCooks < 0 {
		t.Fatalf("the calls page lacks a call:\n%s", page)
	}
	cardOf := func(at int) string {
		end := strings.Index(page[at:], "</li>")
		return page[at : at+end]
	}
	if !strings.Contains(cardOf(iBar), "Sign-ups: closed") {
		t.Errorf("the full call's card does not say it is closed:\n%s", cardOf(iBar))
	}
	if strings.Contains(cardOf(iCooks), "closed") {
		t.Errorf("the open call's card says closed:\n%s", cardOf(iCooks))
	}
}

// The widget can be framed by another site and lists the latest; other
// pages cannot be framed elsewhere; the sitemap lists boards and pages.
func TestWidgetAndSitemap(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	for i := range 8 {
		svc.Create(ctx, board.System, b, board.Draft{Title: fmt.Sprintf("Item %d", i)}, "")
	}
	resp, err := http.Get(hs.URL + "/boards/news/widget?limit=3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), "<li>"); n != 3 || !strings.Contains(string(body), "Item 7") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors *") {
		t.Fatalf("widget: %d items, CSP %q\n%s", n, resp.Header.Get("Content-Security-Policy"), body)
	}
	// Events: what is coming, soonest first, trainings included; not
	// the latest announced, which may be over.
	now := time.Now()
	for _, d := range []board.Draft{
		{Kind: board.KindEvent, Title: "Later party", Event: &board.Event{Start: now.Add(96 * time.Hour)}},
		{Kind: board.KindTraining, Title: "Git workshop", Event: &board.Event{Start: now.Add(48 * time.Hour)}, Training: &board.Training{Seats: 5}},
		{Kind: board.KindEvent, Title: "Last year's fair", Event: &board.Event{Start: now.AddDate(-1, 0, 0)}},
	} {
		if _, _, err := svc.Create(ctx, board.System, b, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body = get(t, hs.URL+"/boards/news/widget?kind=event&limit=5", "")
	page := string(body)
	if iGit, iParty := strings.Index(page, "Git workshop"), strings.Index(page, "Later party"); iGit < 0 || iParty < iGit || strings.Contains(page, "Last year") || strings.Contains(page, "Item ") {
		t.Errorf("the events widget, want the workshop then the party and nothing else:\n%s", page)
	}
	resp, _ = http.Get(hs.URL + "/boards/news")
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("the board page may be framed anywhere: %q", resp.Header.Get("Content-Security-Policy"))
	}
	code, ct, body := get(t, hs.URL+"/sitemap.xml", "")
	var sm struct {
		URLs []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal(body, &sm); code != 200 || !strings.HasPrefix(ct, "application/xml") || err != nil || len(sm.URLs) != 13 {
		t.Fatalf("sitemap: %d %s %v, %d urls\n%s", code, ct, err, len(sm.URLs), body)
	}
}

// The pages speak French to a French browser (or ?lang=fr): words, facts
// and dates come from the catalogue.
func TestPagesInFrench(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	a, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindEvent, Title: "Fête", Event: &board.Event{Start: start, Place: "Salle"}}, "")
	c, _, _ := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cuisine", Call: &board.Call{Roles: []board.Role{{Name: "cuisinier", Places: 2}}, Contact: "a@b.org"}}, "")
	fr := func(path string) string {
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.5")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	page := fr(fmt.Sprintf("/boards/news/a/%d", a.ID))
	for _, want := range []string{`<html lang="fr">`, "Événement", "<dt>Quand</dt>", "sam. 5 déc. 2026, 13:00 (UTC)", "<dt>Où</dt>", "Ajouter à mon agenda", "Publié avec Crieur."} {
		if !strings.Contains(page, want) {
			t.Errorf("the French event page lacks %q", want)
		}
	}
	page = fr(fmt.Sprintf("/boards/news/a/%d", c.ID))
	for _, want := range []string{"Appel à bénévoles", "cuisinier (2 places restantes sur 2)", "S’inscrire", "Votre nom", "2 places restantes sur 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("the French call page lacks %q", want)
		}
	}
	// The withdraw page of someone who signed up (a link of no sign-up
	// offers nothing).
	res, err := svc.SignUp(ctx, b, c.ID, board.Person{Kind: board.PersonWeb, ID: "form-zoe", Name: "Zoé"}, []string{"cuisinier"}, board.Origin{ID: "web:form-zoe:cuisinier"})
	if err != nil || res.WithdrawToken == "" {
		t.Fatalf("sign-up: %v", err)
	}
	if page := fr(fmt.Sprintf("/boards/news/a/%d/withdraw?t=%s", c.ID, res.WithdrawToken)); !strings.Contains(page, "Annuler votre inscription\u202f?") ||
		!strings.Contains(page, "Vous vous êtes inscrit·e à «\u202fCuisine\u202f»") || !strings.Contains(page, "Annuler mon inscription") || !strings.Contains(page, "Retour à «\u202fCuisine\u202f»") {
		t.Errorf("the French withdraw page:\n%s", page)
	}
	if page := fr("/boards/news/a/999"); !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Page introuvable") {
		t.Errorf("the French 404 page:\n%s", page)
	}
	if page := fr(fmt.Sprintf("/boards/news/a/%d", a.ID)); !strings.Contains(page, `href="https://www.openstreetmap.org/search?query=Salle"`) {
		t.Errorf("the event has no map link")
	}
	if page := fr("/boards/news"); !strings.Contains(page, "Suivez ce tableau") || !strings.Contains(page, "État des services") {
		t.Errorf("the French board page:\n%s", page)
	}
	// English stays the default, and ?lang=en wins over the browser.
	if _, _, body := get(t, fmt.Sprintf("%s/boards/news/a/%d", hs.URL, a.ID), "text/html"); !strings.Contains(string(body), "<dt>When</dt>") {
		t.Errorf("the default page is not English")
	}
}

// A visitor's language choice sticks: the switcher's ?lang= sets a cookie
// the next pages follow without it, pages say they vary by language, and
// the widget follows the browser's Accept-Language.
func TestLanguageChoiceSticks(t *testing.T) {
	_, hs, svc := newTestServer(t)
	ctx := context.Background()
	b, _ := storeOf(svc).BoardByName(ctx, "news")
	if _, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindNews, Title: "Hello"}, ""); err != nil {
		t.Fatal(err)
	}
	do := func(path, acceptLanguage string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	read := func(resp *http.Response) string {
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	first := do("/boards/news", "")
	page := read(first)
	if !strings.Contains(page, `<a href="?lang=fr" hreflang="fr" lang="fr">Français</a>`) || !strings.Contains(page, `hreflang="en" lang="en" aria-current="true">English</a>`) {
		t.Errorf("the board page has no language switcher:\n%s", page)
	}
	if v := strings.Join(first.Header.Values("Vary"), ", "); !strings.Contains(v, "Accept-Language") || !strings.Contains(v, "Cookie") || !strings.Contains(v, "Accept") {
		t.Errorf("Vary: %q, want Accept, Accept-Language and Cookie", v)
	}
	chose := do("/boards/news?lang=fr", "en")
	var remembered *http.Cookie
	for _, c := range chose.Cookies() {
		if c.Name == "lang" {
			remembered = c
		}
	}
	if remembered == nil || remembered.Value != "fr" || remembered.MaxAge <= 0 {
		t.Fatalf("choosing French set cookies %v", chose.Cookies())
	}
	if page := read(do("/boards/news/status", "en", remembered)); !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "<title>État des services – ") {
		t.Errorf("the next page, without ?lang=, is not French:\n%s", page)
	}
	if page := read(do("/boards/news/widget", "fr-FR,fr;q=0.9")); !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, "Actualité") {
		t.Errorf("the widget ignores Accept-Language:\n%s", page)
	}
	if resp := do("/boards/news?lang=xx", ""); len(resp.Cookies()) != 0 {
		t.Errorf("an unknown language was remembered: %v", resp.Cookies())
	}
}
