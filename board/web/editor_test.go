package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
)

type testLinks struct{}

func (testLinks) BoardURL(b string) string { return "https://board.example/boards/" + b }
func (testLinks) AnnouncementURL(b string, id int64) string {
	return "https://board.example/boards/" + b + "/a/1"
}
func (testLinks) Handle(b string) string { return "@" + b + "@board.example" }

func TestEditorPublishesEditsAndDeletes(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	paris, _ := time.LoadLocation("Europe/Paris")
	mux := httpx.NewRoutes()
	NewEditor(svc, rig.Store, testLinks{}, paris, false, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	do := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "GET" {
			resp, err = client.Get(srv.URL + path)
		} else {
			resp, err = client.PostForm(srv.URL+path, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	hidden := func(page, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s in page", name)
		}
		return m[1]
	}

	if code, page := do("GET", "/edit", nil); code != 200 || !strings.Contains(page, `name="token"`) {
		t.Fatalf("login page: %d", code)
	}
	if code, page := do("POST", "/edit/login", url.Values{"token": {"crieur_wrong"}}); code != 401 || !strings.Contains(page, "not valid") {
		t.Fatalf("wrong token: %d", code)
	}
	code, page := do("POST", "/edit/login", url.Values{"token": {admin}})
	if code != 200 || !strings.Contains(page, "New announcement on News") {
		t.Fatalf("after sign-in: %d", code)
	}
	if strings.Contains(page, admin) {
		t.Fatal("the token is echoed in the page")
	}
	csrf, key := hidden(page, "csrf"), hidden(page, "key")

	form := url.Values{"kind": {"call"}, "title": {""}, "body": {"We need **you** for the fair."}, "roles": {"cook two"}, "key": {key}}
	if code, page := do("POST", "/edit/news/new", form); code != 403 || !strings.Contains(page, "Nothing was saved") {
		t.Fatalf("no CSRF token: %d, want 403 saying nothing was saved\n%s", code, page)
	}
	// A form over the limit says so, not that it expired.
	huge := url.Values{"csrf": {csrf}, "kind": {"news"}, "title": {"Huge"}, "body": {strings.Repeat("x", 300<<10)}}
	if code, page := do("POST", "/edit/news/new", huge); code != 413 || !strings.Contains(page, "larger than 256 KB") || strings.Contains(page, "expired") {
		t.Fatalf("a form over the limit: %d\n%s", code, page)
	}
	form.Set("csrf", csrf)
	// Typed without a date picker: it comes back in the picker's own
	// format, which a date picker shows (another it would show empty).
	typed := fmt.Sprintf("1/12/%d 18 h 00", time.Now().Year()+1)
	form.Set("deadline", typed)
	code, page = do("POST", "/edit/news/new", form)
	if code != 400 || !strings.Contains(page, "We need **you** for the fair.") || !strings.Contains(page, "cook two") || !strings.Contains(page, "<strong>Title:</strong>") {
		t.Fatalf("invalid form: %d, the page must keep the text and say what to fix:\n%s", code, page)
	}
	if want := fmt.Sprintf(`name="deadline" type="datetime-local" value="%d-12-01T18:00"`, time.Now().Year()+1); !strings.Contains(page, want) {
		t.Errorf("the deadline typed %q came back without %s", typed, want)
	}
	form.Set("title", "Cooks wanted")
	form.Set("roles", "cook: 2\ndriver: 1")
	form.Set("contact", "fair@example.org")
	deadline := fmt.Sprintf("%d-12-01T18:00", time.Now().Year()+1) // to come, in winter (+01:00)
	form.Set("deadline", deadline)
	code, page = do("POST", "/edit/news/new", form)
	if code != 200 || !strings.Contains(page, "Published: Cooks wanted") {
		t.Fatalf("publish: %d", code)
	}
	// The notice shows once, and a link cannot write one.
	if _, page := do("GET", "/edit", nil); strings.Contains(page, "Published: Cooks wanted") {
		t.Error("the notice shows again on reload")
	}
	if _, page := do("GET", "/edit?done=Your+token+expired%2C+mail+it+to+evil%40example.org", nil); strings.Contains(page, "evil@example.org") {
		t.Error("a link's text appears as a notice in the editor")
	}
	// Sent twice (Back, then send): the form key keeps it one, and the
	// page says so instead of "Published".
	if _, page := do("POST", "/edit/news/new", form); !strings.Contains(page, "Already published: Cooks wanted") || strings.Contains(page, "Published: Cooks") {
		t.Errorf("a resubmitted form:\n%s", page)
	}
	changed := url.Values{}
	for k, v := range form {
		changed[k] = v
	}
	changed.Set("title", "Cooks wanted (typo fixed)")
	if code, page := do("POST", "/edit/news/new", changed); code != 400 || !strings.Contains(page, "already published an announcement") {
		t.Errorf("a resubmitted form with changes: %d\n%s", code, page)
	}
	list, _ := rig.Store.Announcements(ctx, b.ID, 0, 10)
	if len(list) != 1 {
		t.Fatalf("%d announcements, want 1", len(list))
	}
	a := list[0]
	if a.Kind != board.KindCall || len(a.Call.Roles) != 2 || a.Call.Deadline.Format(time.RFC3339) != deadline+":00+01:00" {
		t.Fatalf("stored: %+v %+v", a, a.Call)
	}

	code, page = do("GET", "/edit/news/1", nil)
	if code != 200 || !strings.Contains(page, `value="Cooks wanted"`) || !strings.Contains(page, deadline) {
		t.Fatalf("edit form: %d", code)
	}
	edit := url.Values{"csrf": {csrf}, "kind": {"call"}, "title": {"Cooks and drivers wanted"}, "roles": {"cook: 2\ndriver: 1"}, "contact": {"fair@example.org"}}
	if code, page := do("POST", "/edit/news/1", edit); code != 200 || !strings.Contains(page, "Updated") {
		t.Fatalf("update: %d", code)
	}
	if got, _ := rig.Store.Announcement(ctx, b.ID, 1); got.Version != 2 || got.Title != "Cooks and drivers wanted" {
		t.Fatalf("after update: %+v", got)
	}
	// The first press asks; nothing is deleted until it is confirmed.
	if code, page := do("POST", "/edit/news/1/delete", url.Values{"csrf": {csrf}}); code != 200 || !strings.Contains(page, "Delete “Cooks and drivers wanted”?") || !strings.Contains(page, `name="confirm" value="yes"`) {
		t.Fatalf("delete without confirmation: %d\n%s", code, page)
	}
	if got, _ := rig.Store.Announcement(ctx, b.ID, 1); got.DeletedAt != nil {
		t.Fatal("deleted without confirmation")
	}
	if code, _ := do("POST", "/edit/news/1/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if got, _ := rig.Store.Announcement(ctx, b.ID, 1); got.DeletedAt == nil {
		t.Fatal("not deleted")
	}
	// Back after publishing, then Publish: the page was loaded again
	// (a new key) and the browser filled in what was typed. The same
	// title and text just published is asked about, with nothing lost;
	// pressed again, it is published.
	news := url.Values{"csrf": {csrf}, "kind": {"news"}, "title": {"Soirée crêpes"}, "body": {"Vendredi à 19 h."}, "action": {"publish"}}
	news.Set("key", hidden(func() string { _, p := do("GET", "/edit", nil); return p }(), "key"))
	if code, page := do("POST", "/edit/news/new", news); code != 200 || !strings.Contains(page, "Published: Soirée crêpes") {
		t.Fatalf("publish: %d", code)
	}
	news.Set("key", hidden(func() string { _, p := do("GET", "/edit", nil); return p }(), "key"))
	code, page = do("POST", "/edit/news/new", news)
	if code != 409 || !strings.Contains(page, `<p class="banner info" role="alert">“Soirée crêpes” was published at`) || strings.Contains(page, "Please fix") ||
		!strings.Contains(page, "Vendredi à 19 h.") || !strings.Contains(page, `name="again" value="1"`) {
		t.Fatalf("the same news sent again from a new form: %d\n%s", code, page)
	}
	if list, _ := rig.Store.Announcements(ctx, b.ID, 0, 10); len(list) != 1 {
		t.Fatalf("%d published after the same news was sent again, want 1", len(list))
	}
	news.Set("key", hidden(page, "key"))
	news.Set("again", "1")
	if code, page := do("POST", "/edit/news/new", news); code != 200 || !strings.Contains(page, "Published: Soirée crêpes") {
		t.Fatalf("published again on purpose: %d", code)
	}
	if list, _ := rig.Store.Announcements(ctx, b.ID, 0, 10); len(list) != 2 {
		t.Fatalf("%d published after publishing it again on purpose, want 2", len(list))
	}
	if code, _ := do("POST", "/edit/logout", url.Values{"csrf": {csrf}}); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, page := do("GET", "/edit", nil); code != 200 || !strings.Contains(page, `name="token"`) {
		t.Fatal("still signed in after signing out")
	}
}

func TestEditorKeepsBoardTokensToTheirBoard(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, news := rig.Service, rig.Board
	climate, _, _ := svc.EnsureBoard(ctx, "climate", "Climate")
	svc.Create(ctx, board.System, news, board.Draft{Title: "News only"}, "")
	tok, _ := rig.Store.CreateToken(ctx, &climate.ID, "climate editor")
	mux := httpx.NewRoutes()
	NewEditor(svc, rig.Store, testLinks{}, time.UTC, false, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(srv.URL+"/edit/login", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), "News only") || !strings.Contains(string(page), "New announcement on Climate") {
		t.Fatal("a board token sees another board")
	}
	resp, _ = client.Get(srv.URL + "/edit/news/1")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("other board's announcement: %d, want 404", resp.StatusCode)
	}
}

// With several boards the editor home holds one form per board: every id
// is unique, so each label focuses its own board's field.
func TestEditorIDsAreUniqueAcrossBoards(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc := rig.Service
	if _, _, err := svc.EnsureBoard(ctx, "climat", "Climat"); err != nil {
		t.Fatal(err)
	}
	page := signIn(t, rig, time.UTC).home
	seen := map[string]int{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		seen[m[1]]++
	}
	if seen["news-title"] != 1 || seen["climat-title"] != 1 {
		t.Fatalf("want one title field per board, got ids %v", seen)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("id %q appears %d times", id, n)
		}
	}
	for _, m := range regexp.MustCompile(` for="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		if seen[m[1]] != 1 {
			t.Errorf("label for %q points at no field", m[1])
		}
	}
}

// An event typed at 14:00+01:00 shows as 14:00 in the editor of a board in
// Europe/Paris (the server's setting is UTC), and saving the form
// unchanged changes nothing: no new version, the offset kept. On a board
// with no zone the form shows the server's (13:00 UTC) and an unchanged
// save still changes nothing.
func TestEditorTimesKeepTheirZone(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, news := rig.Service, rig.Board
	news.TimeZone = "Europe/Paris"
	if _, err := svc.SetBoard(ctx, news); err != nil {
		t.Fatal(err)
	}
	other, _, _ := svc.EnsureBoard(ctx, "other", "Other")
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.FixedZone("", 3600))
	e := signIn(t, rig, time.UTC)
	for _, c := range []struct {
		b     board.Board
		shown string
		zone  string
	}{{news, "2026-12-05T14:00", "Paris time"}, {other, "2026-12-05T13:00", "UTC"}} {
		a, _, err := svc.Create(ctx, board.System, c.b, board.Draft{Kind: board.KindEvent, Title: "Party", Event: &board.Event{Start: start, Place: "Hall"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/edit/%s/%d", c.b.Name, a.ID)
		page := e.get(path)
		if !strings.Contains(page, `value="`+c.shown+`"`) || !strings.Contains(page, "Times are in "+c.zone) {
			t.Fatalf("%s: the form does not show %s in %s:\n%s", c.b.Name, c.shown, c.zone, page)
		}
		e.post(path, url.Values{"csrf": {hiddenValue(t, page, "csrf")}, "kind": {"event"}, "title": {"Party"}, "start": {c.shown}, "place": {"Hall"}})
		got, _ := rig.Store.Announcement(ctx, c.b.ID, a.ID)
		if _, off := got.Event.Start.Zone(); got.Version != 1 || off != 3600 || !got.Event.Start.Equal(start) {
			t.Errorf("%s: an unchanged save gave version %d, start %s", c.b.Name, got.Version, got.Event.Start)
		}
	}
}

// Problems are shown next to their fields in a member's words, marked for
// screen readers, the first one focused; the list above links to them and
// every text typed is kept.
func TestEditorErrorsNextToFields(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	_ = rig.Service
	e := signIn(t, rig, time.UTC)
	post := e.post
	csrf, key := hiddenValue(t, e.home, "csrf"), hiddenValue(t, e.home, "key")

	code, page := post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {key}, "kind": {"event"}, "title": {"Install party"},
		"body": {"Bring a laptop."}, "start": {"2026-12-05T14:00"}, "end": {"2026-12-05T12:00"}, "event_url": {"ftp://x"}})
	if code != 400 {
		t.Fatalf("an event ending before it starts: %d", code)
	}
	for _, want := range []string{
		`<input id="news-end" aria-invalid="true" aria-describedby="news-end-error" autofocus name="end"`,
		`<span class="field-error" id="news-end-error">Ends must be after Starts.</span>`,
		`id="news-event_url-error">The link must start with https:// or http://.</span>`,
		`<a href="#news-end"><strong>Ends:</strong></a> Ends must be after Starts.`,
		`value="Install party"`, "Bring a laptop.", `value="2026-12-05T14:00"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "RFC 3339") || strings.Contains(page, "event.end") || strings.Contains(page, "event.start") {
		t.Errorf("the page speaks the API's language:\n%s", page)
	}
	if n := strings.Count(page, "autofocus"); n != 1 {
		t.Errorf("%d fields focused, want the first invalid one", n)
	}

	_, page = post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {key}, "kind": {"call"}, "title": {"Cooks"}, "roles": {"cook two"}})
	for _, want := range []string{`id="news-roles-error">Write one role a line as “name: places”, like “cook: 2” (not “cook two”).`, `id="news-contact-error">Say how to answer`} {
		if !strings.Contains(page, want) {
			t.Errorf("the call form lacks %s\n", want)
		}
	}
	// Details of another kind are refused, not dropped, and their fieldset
	// stays shown so the message can be read.
	code, page = post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {key}, "kind": {"news"}, "title": {"Party"}, "start": {"2026-12-05T14:00"}, "place": {"Hall"}})
	if code != 400 || !strings.Contains(page, `id="news-start-error">This is for another kind: choose “Event” in “What is it?”, or empty this field.`) ||
		!strings.Contains(page, `class="for-event shown"`) || strings.Contains(page, `class="for-call shown"`) {
		t.Errorf("event details on a news item: %d\n%s", code, page)
	}
	if list, _ := rig.Store.Announcements(ctx, 1, 0, 10); len(list) != 0 {
		t.Fatalf("%d announcements published from refused forms", len(list))
	}
	_, page = post("/edit/news/new", url.Values{"csrf": {csrf}, "key": {key}, "kind": {"call"}, "title": {"Cooks"}, "contact": {"a@b.org"}})
	if !strings.Contains(page, `id="news-roles-error">Say who is needed, one role a line, like cook: 2.`) || strings.Contains(page, `[{`) {
		t.Errorf("a call without roles: the page should ask for roles in words, not JSON")
	}
}

// Every announcement can be found and edited from the web, not only the
// ten latest: pages of 50 and a search in titles and texts.
func TestEditorListsAndSearchesAll(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	for i := range 60 {
		svc.Create(ctx, board.System, b, board.Draft{Title: fmt.Sprintf("Post %02d", i), Body: "Weekly news."}, "")
	}
	svc.Create(ctx, board.System, b, board.Draft{Title: "Repair café", Body: "Bring what is broken: 100% free."}, "")
	get := signIn(t, rig, time.UTC).get
	if home := get("/edit"); !strings.Contains(home, `href="/edit/news/all"`) {
		t.Fatal("the editor home does not link to all announcements")
	}
	items := regexp.MustCompile(`<li>[^<]*: <a href="/edit/news/\d+">`)
	page := get("/edit/news/all")
	older := regexp.MustCompile(`href="(/edit/news/all\?[^"]+)">Older`).FindStringSubmatch(page)
	if n := len(items.FindAllString(page, -1)); n != 50 || older == nil || !strings.Contains(page, "Repair café") {
		t.Fatalf("first page: %d items, older link %v", n, older)
	}
	page = get(html.UnescapeString(older[1]))
	if n := len(items.FindAllString(page, -1)); n != 11 || !strings.Contains(page, "Post 00") || strings.Contains(page, ">Older<") {
		t.Fatalf("second page: %d items", n)
	}
	for q, want := range map[string]int{"repair": 1, "café": 1, "100%": 1, "%": 1, "_": 0, "weekly": 60, "nothing like this": 0} {
		page := get("/edit/news/all?q=" + url.QueryEscape(q))
		if n := len(items.FindAllString(page, -1)); n != min(want, 50) {
			t.Errorf("search %q: %d results, want %d", q, n, min(want, 50))
		}
	}
}

// editorSession is a browser signed in to the editor of svc with an admin
// token, times read in loc.
type editorSession struct {
	t      *testing.T
	url    string
	client *http.Client
	home   string // the page the sign-in answered with
}

func signIn(t *testing.T, rig *boardtest.Rig, loc *time.Location, setups ...board.DestinationSetup) *editorSession {
	t.Helper()
	admin, err := rig.Store.CreateToken(context.Background(), nil, "admin")
	if err != nil {
		t.Fatal(err)
	}
	mux := httpx.NewRoutes()
	ed := NewEditor(rig.Service, rig.Store, testLinks{}, loc, false, slog.New(slog.DiscardHandler))
	for _, d := range setups {
		ed.AddDestinationSetup(d)
	}
	ed.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	e := &editorSession{t: t, url: srv.URL, client: &http.Client{Jar: jar}}
	_, e.home = e.post("/edit/login", url.Values{"token": {admin}})
	return e
}

func (e *editorSession) get(path string) string {
	e.t.Helper()
	resp, err := e.client.Get(e.url + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (e *editorSession) post(path string, form url.Values) (int, string) {
	e.t.Helper()
	resp, err := e.client.PostForm(e.url+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hiddenValue is the value of the hidden field name in page.
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page", name)
	}
	return m[1]
}

// A member marks an outage resolved from its edit page; the page then
// says so, and the store holds the time.
func TestEditorMarksAnOutageResolved(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: time.Now().Add(-time.Hour)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	e := signIn(t, rig, time.UTC)
	path := fmt.Sprintf("/edit/news/%d", a.ID)
	page := e.get(path)
	if !strings.Contains(page, "Mark resolved now") {
		t.Fatalf("no way to mark the outage resolved:\n%s", page)
	}
	code, page := e.post(path+"/resolved", url.Values{"csrf": {hiddenValue(t, page, "csrf")}})
	if code != 200 || !strings.Contains(page, "Marked resolved: Mail down.") || strings.Contains(page, "Mark resolved now") {
		t.Fatalf("after marking it resolved: %d\n%s", code, page)
	}
	if got, _ := rig.Store.Announcement(ctx, b.ID, a.ID); got.Outage.Resolved == nil || got.Version != 2 {
		t.Fatalf("stored: resolved %v, version %d", got.Outage.Resolved, got.Version)
	}
}

// The sign-ups section tells each person's history from the one ledger:
// every answer from every channel, newest first, and what became of it
// (issue 22: editors see each person's history).
func TestEditorShowsTheHistoryOfAnswers(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	b := rig.Board
	a, _, err := rig.Service.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 1}}, Contact: "fair@example.org"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	kim := board.Person{Kind: board.PersonFediverse, ID: "https://a.example/users/kim", Name: "@kim@a.example"}
	ana := board.Person{Kind: board.PersonMatrix, ID: "@ana:example.org", Name: "Ana"} // never signed up: named by the ledger
	rig.Service.SignUp(ctx, b, a.ID, kim, []string{"cook"}, board.Origin{ID: "https://a.example/users/kim/statuses/1"})
	rig.Service.SignUp(ctx, b, a.ID, kim, []string{"cook"}, board.Origin{ID: "https://a.example/users/kim/statuses/1"}) // redelivered
	rig.Service.SetAnswer(ctx, b, a.ID, ana, []string{"cook"}, board.Origin{ID: "$ana1"})
	rig.Service.SetAnswer(ctx, b, a.ID, ana, []string{"juggler"}, board.Origin{ID: "$ana2"})
	list, _ := rig.Store.Signups(ctx, a.ID)
	if err := rig.Service.RemoveSignup(ctx, board.System, b, a.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	page := signIn(t, rig, time.UTC).get(fmt.Sprintf("/edit/news/%d", a.ID))
	i := strings.Index(page, "History of answers (4)")
	if i < 0 {
		t.Fatalf("no history of four answers on the edit page:\n%s", page)
	}
	items := regexp.MustCompile(`<li><time[^>]*>[^<]*</time> · ([^<]*)</li>`).FindAllStringSubmatch(page[i:], -1)
	var got []string
	for _, it := range items {
		got = append(got, html.UnescapeString(it[1]))
	}
	want := []string{
		"@kim@a.example (fediverse): removed from cook by an editor",
		"Ana (Matrix): answered juggler; refused: the call has no such role",
		"Ana (Matrix): answered cook; cook was full",
		"@kim@a.example (fediverse): answered cook; signed up as cook",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the history reads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A "Publish at" already past comes back next to its field, saying so and
// how to publish now, with nothing saved (issue 25, point 9: it published
// at once without a word).
func TestEditorRefusesAPastPublishTime(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	e := signIn(t, rig, paris)
	past := rig.Clock.Now().In(paris).Add(-2 * time.Hour).Format(formTime)
	code, page := e.post("/edit/news/new", url.Values{"csrf": {hiddenValue(t, e.home, "csrf")}, "key": {hiddenValue(t, e.home, "key")},
		"kind": {"news"}, "title": {"Late"}, "publish_at": {past}, "action": {"publish"}})
	want := `<span class="field-error" id="news-publish_at-error">This time has already passed. Empty this field to publish now, or choose a later time.</span>`
	if code != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `value="`+past+`"`) {
		t.Fatalf("a past publication time: %d, want the form back with %s:\n%s", code, want, page)
	}
	if list, _ := rig.Store.SearchAnnouncements(ctx, rig.Board.ID, "", 0, 10); len(list) != 0 {
		t.Fatalf("saved anyway: %+v", list)
	}
}

// Sign-up times are the board's, its zone named, on the call's edit page
// and in the spreadsheet an editor downloads from it (issue 25, point 4:
// they read as UTC without a word).
func TestEditorSignupTimesInTheBoardsZone(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	b := rig.Board
	b.TimeZone = "Europe/Paris"
	b, err := rig.Service.SetBoard(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := rig.Service.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 2}}, Contact: "fair@example.org"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rig.Service.SignUp(ctx, b, a.ID, board.PhonePerson("Zoé", ""), []string{"cook"}, board.Origin{ID: "phone"}); err != nil {
		t.Fatal(err)
	}
	list, _ := rig.Store.Signups(ctx, a.ID)
	paris, _ := time.LoadLocation("Europe/Paris")
	local := list[0].CreatedAt.In(paris)
	e := signIn(t, rig, time.UTC) // the server's zone is not the board's
	page := e.get(fmt.Sprintf("/edit/news/%d", a.ID))
	if want := local.Format("15:04") + " (Paris time)</td>"; !strings.Contains(page, want) {
		t.Errorf("the sign-ups table lacks %q:\n%s", want, page)
	}
	sheet := e.get(fmt.Sprintf("/edit/news/%d/signups.csv", a.ID))
	if !strings.Contains(sheet, ",Signed up at (Paris time)\n") || !strings.Contains(sheet, ","+local.Format("2006-01-02 15:04")+"\n") {
		t.Errorf("the spreadsheet does not name the zone of its times, or they are not the board's:\n%s", sheet)
	}
}

// Issue 26, item 5: the edit page says when the post reached fediverse
// servers more than 6 hours after it was published (Mastodon keeps it out
// of home timelines) and, for an outage still going on, posts it again.
func TestEditorSaysLateAndReannounces(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	svc, b := rig.Service, rig.Board
	rig.Clock.Set(time.Now().Add(-7 * time.Hour)) // published 7 hours ago
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindOutage, Title: "Mail down", Outage: &board.Outage{Service: "mail", From: time.Now().Add(-8 * time.Hour)}}, "")
	if err != nil {
		t.Fatal(err)
	}
	rig.Clock.Set(time.Now())
	entries := rig.Pending(t)
	if len(entries) != 1 {
		t.Fatalf("%d outbox entries", len(entries))
	}
	e := signIn(t, rig, time.UTC)
	path := fmt.Sprintf("/edit/news/%d", a.ID)
	if page := e.get(path); strings.Contains(page, "more than 6 hours") {
		t.Fatalf("nothing delivered yet, and the page says it came late:\n%s", page)
	}
	// Delivered now: 7 hours after it was published.
	if err := rig.Store.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: entries[0].ID, Target: "https://late.example/inbox", State: board.DeliveryDelivered, Attempts: 3}); err != nil {
		t.Fatal(err)
	}
	page := e.get(path)
	if !strings.Contains(page, "1 fediverse server received this post more than 6 hours after it was published") || !strings.Contains(page, "Post it again") {
		t.Fatalf("the edit page does not say the post came late:\n%s", page)
	}
	code, page := e.post(path+"/reannounce", url.Values{"csrf": {hiddenValue(t, page, "csrf")}})
	if code != 200 || !strings.Contains(page, "“Mail down” was posted again") {
		t.Fatalf("after posting it again: %d\n%s", code, page)
	}
	list, err := rig.Store.Announcements(ctx, b.ID, 0, 10)
	if err != nil || len(list) != 2 || list[0].Title != "Still current: Mail down" || !strings.Contains(list[0].Body, boardtest.Links{}.AnnouncementURL("news", a.ID)) {
		t.Fatalf("announcements after posting again: %v %+v", err, list)
	}
}
