package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/api"
	"crieur/board/httpx"
	"crieur/config"
)

// The guard's own refusals, told from a handler's (a service rule saying
// an editor may not delete a published announcement is not the guard).
var guardRefusals = []string{"this needs an admin token", "this token may not manage board", "an editor's token cannot change this"}

// Issue 23: every route of the admin API, the destinations' set-ups and
// /metrics included (read from the table the server registered, so a new
// route is walked without anyone adding it here), called as anonymous,
// with a revoked and an expired token, another board's token, the
// board's editor, its publisher and an admin, answers as the table says.
func TestEveryAPIRouteAnswersAsTheTableSays(t *testing.T) {
	ctx := context.Background()
	a, news := newsApp(t)
	st := a.Store
	other, _, _ := a.Service.EnsureBoard(ctx, "climate", "Climate")
	token := func(boardID *int64, role string, expires *time.Time) (string, int64) {
		return newToken(t, a, boardID, role, expires)
	}
	admin, _ := token(nil, board.RolePublisher, nil)
	publisher, _ := token(&news.ID, board.RolePublisher, nil)
	editor, _ := token(&news.ID, board.RoleEditor, nil)
	outsider, _ := token(&other.ID, board.RolePublisher, nil)
	revoked, revokedID := token(&news.ID, board.RolePublisher, nil)
	if err := st.RevokeToken(ctx, revokedID); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Second)
	expired, _ := token(&news.ID, board.RolePublisher, &soon)
	_, spare := token(&news.ID, board.RolePublisher, nil) // what DELETE /tokens/{id} revokes
	ann, _, err := a.Service.Create(ctx, board.System, news, board.Draft{Kind: board.KindCall, Title: "Cooks", Call: &board.Call{Contact: "a@b.example", Roles: []board.Role{{Name: "cook", Places: 2}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon))

	type who struct{ name, token string }
	// The order matters only for what succeeds: the admin goes last.
	people := []who{{"anonymous", ""}, {"revoked", revoked}, {"expired", expired}, {"another board's", outsider},
		{"editor", editor}, {"publisher", publisher}, {"admin", admin}}
	// want says whether who gets past the guard of a route needing access.
	want := func(w who, access api.Access) bool {
		switch w.name {
		case "anonymous", "revoked", "expired":
			return false
		case "admin":
			return true
		case "another board's":
			return access == api.AnyToken
		case "editor":
			return access == api.AnyToken || access == api.Member
		}
		return access != api.Admin // the board's publisher
	}
	table := a.APITable()
	if len(table) < 40 {
		t.Fatalf("the table has %d routes", len(table))
	}
	// The table itself keeps the rules the issue found broken: setting up
	// where a board publishes is a publisher's (an editor's token
	// replaced the Matrix set-up, point 3); the server's own things are
	// an admin's; only the list of boards is open to any token.
	for _, row := range table {
		method, path, _ := strings.Cut(row.Pattern, " ")
		setup := regexp.MustCompile(`^/api/v1/boards/\{board\}/(matrix|mattermost|email|relays(/\{id\})?)$`).MatchString(path)
		server := regexp.MustCompile(`^/(api/v1/(tokens|queue|blocks)|metrics)\b`).MatchString(path)
		switch {
		case setup && method != "GET" && row.Access != api.Publisher:
			t.Errorf("%s changes a board's set-up with access %d: only its publishers may", row.Pattern, row.Access)
		case server && row.Access != api.Admin:
			t.Errorf("%s is the server's, with access %d: only an admin may", row.Pattern, row.Access)
		case row.Access == api.AnyToken && row.Pattern != "GET /api/v1/boards":
			t.Errorf("%s is open to any token", row.Pattern)
		}
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	for _, row := range table {
		method, path, _ := strings.Cut(row.Pattern, " ")
		path = strings.NewReplacer("{board}", "news", "{signup}", "1").Replace(path)
		if strings.HasPrefix(path, "/api/v1/tokens/") {
			path = strings.Replace(path, "{id}", fmt.Sprint(spare), 1)
		}
		path = strings.Replace(path, "{id}", fmt.Sprint(ann.ID), 1)
		for _, w := range people {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if w.token != "" {
				req.Header.Set("Authorization", "Bearer "+w.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			refused := resp.StatusCode == http.StatusUnauthorized
			if resp.StatusCode == http.StatusForbidden {
				for _, g := range guardRefusals {
					refused = refused || strings.HasPrefix(body.Error, g)
				}
			}
			if refused == want(w, row.Access) {
				t.Errorf("%s as %s: %d %q; the table says access %d", row.Pattern, w.name, resp.StatusCode, body.Error, row.Access)
			}
			if !want(w, row.Access) && w.token == "" && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s without a token: %d, want 401", row.Pattern, resp.StatusCode)
			}
		}
	}
	t.Logf("%d routes × %d callers", len(table), len(people))
}

// The web editor's routes, from the table it registered, walked the same
// way with a browser's session: signed out, signed in with a token since
// revoked or expired, with another board's token, as the board's editor,
// its publisher and an admin. Each caller has an announcement and a
// sign-up of its own, so what one does (delete) does not answer for the
// next.
func TestEveryEditorRouteAnswersAsTheTableSays(t *testing.T) {
	ctx := context.Background()
	app := testApp(t)
	st, svc := app.Store, app.Service
	news, _ := st.BoardByName(ctx, "news")
	other, _, _ := svc.EnsureBoard(ctx, "climate", "Climate")
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	type caller struct {
		name     string
		client   *http.Client
		csrf     string
		ann, sig int64
		tokenID  int64
	}
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	newCaller := func(name string, boardID *int64, role string, expires *time.Time) *caller {
		jar, _ := cookiejar.New(nil)
		c := &caller{name: name, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		ann, _, err := svc.Create(ctx, board.System, news, board.Draft{Kind: board.KindCall, Title: "Cooks for " + name,
			Call: &board.Call{Contact: "a@b.example", Roles: []board.Role{{Name: "cook", Places: 3}}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		c.ann = ann.ID
		if _, err := svc.SignUp(ctx, news, ann.ID, board.PhonePerson("Jo", ""), []string{"cook"}, board.Origin{ID: "test:" + name}); err != nil {
			t.Fatal(err)
		}
		sus, _ := st.Signups(ctx, ann.ID)
		c.sig = sus[0].ID
		if name == "anonymous" {
			return c
		}
		plain, id, err := st.CreateTokenUntil(ctx, boardID, name, expires, role)
		if err != nil {
			t.Fatal(err)
		}
		c.tokenID = id
		resp, err := c.client.PostForm(srv.URL+"/edit/login", url.Values{"token": {plain}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, _ = c.client.Get(srv.URL + "/edit")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := csrfRe.FindSubmatch(body); m != nil {
			c.csrf = string(m[1])
		} else {
			t.Fatalf("%s: not signed in", name)
		}
		return c
	}
	soon := time.Now().Add(time.Second)
	callers := []*caller{
		newCaller("anonymous", nil, "", nil),
		newCaller("revoked", &news.ID, board.RolePublisher, nil),
		newCaller("expired", &news.ID, board.RolePublisher, &soon),
		newCaller("another board's", &other.ID, board.RolePublisher, nil),
		newCaller("editor", &news.ID, board.RoleEditor, nil),
		newCaller("publisher", &news.ID, board.RolePublisher, nil),
		newCaller("admin", nil, board.RolePublisher, nil),
	}
	// Signed in before: the token is revoked, the other one expires.
	if err := st.RevokeToken(ctx, callers[1].tokenID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon))

	// passes says whether the table lets c through a route needing need.
	passes := func(c *caller, need httpx.Access) bool {
		switch c.name {
		case "anonymous", "revoked", "expired":
			return need == httpx.Public
		case "another board's":
			return need == httpx.Public || need == httpx.AnyToken
		case "editor":
			return need != httpx.Publisher && need != httpx.Admin
		}
		return true
	}
	table := app.EditorTable()
	// The table keeps the API's rules: where a board publishes, how it
	// introduces itself (name, colour, logo) and the services its pages
	// present are set by its publishers (any member may send a test or
	// read the settings, as in the API).
	for _, row := range table {
		setup := regexp.MustCompile(`/destinations/\{key\}/(save|remove)$|^POST /edit/\{board\}/settings$|^POST /edit/\{board\}/services(/\{slug\}/remove)?$`).MatchString(row.Pattern)
		if setup != (row.Access == httpx.Publisher) {
			t.Errorf("%s needs %s", row.Pattern, row.Access)
		}
	}
	// What ends a session or an announcement is walked last.
	rank := func(p string) int {
		switch {
		case strings.HasSuffix(p, "/delete"):
			return 1
		case strings.HasSuffix(p, "/logout"):
			return 2
		}
		return 0
	}
	sort.SliceStable(table, func(i, j int) bool { return rank(table[i].Pattern) < rank(table[j].Pattern) })
	for _, c := range callers {
		for _, row := range table {
			method, path, _ := strings.Cut(row.Pattern, " ")
			path = strings.NewReplacer("{board}", "news", "{id}", fmt.Sprint(c.ann), "{signup}", fmt.Sprint(c.sig), "{key}", "email").Replace(path)
			var req *http.Request
			if method == http.MethodPost {
				item := "x" // a destination's item to remove or test
				if strings.HasSuffix(path, "/save") {
					item = "smtp" // the e-mail set-up's first form
				}
				req, _ = http.NewRequest(method, srv.URL+path, strings.NewReader(url.Values{"csrf": {c.csrf}, "item": {item}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest(method, srv.URL+path, nil)
			}
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The guard's answers: to the sign-in page for who is not
			// signed in (a handler's redirect there leaves a notice or
			// ends the session: it sets a cookie), "not found" for another
			// board, "not for your token".
			refused := resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/edit" && resp.Header.Get("Set-Cookie") == "" ||
				resp.StatusCode == http.StatusNotFound ||
				resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "Not for your token")
			if refused == passes(c, row.Access) {
				t.Errorf("%s as %s: %d %s; the table says %s", row.Pattern, c.name, resp.StatusCode, resp.Header.Get("Location"), row.Access)
			}
		}
	}
	t.Logf("%d editor routes × %d callers", len(table), len(callers))
}

// testApp is the whole server, wired as serve wires it, on a fresh data
// folder; nothing runs in the background.
func testApp(t *testing.T) *App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.PublicURL = "http://127.0.0.1:1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Every route the server answers is in its one table (issue 23: the
// authorization test covers every route the server has). The API's and
// the editor's guarded routes are there as their own tables say (the two
// tests above walk them); every other route is public or signed, and is
// walked here: a public one answers everyone alike, whatever their
// token, and never from behind /api or the editor; a signed one (an
// inbox) refuses an unsigned request, token or not.
func TestEveryRouteIsInTheOneTable(t *testing.T) {
	ctx := context.Background()
	a, news := newsApp(t)
	ann, _, err := a.Service.Create(ctx, board.System, news, board.Draft{Kind: board.KindEvent, Title: "Install party",
		Event: &board.Event{Start: time.Now().Add(48 * time.Hour), Place: "Room 101"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	guarded := map[string]httpx.Access{}
	for _, r := range a.APITable() {
		guarded[r.Pattern] = r.Access
	}
	for _, r := range a.EditorTable() {
		guarded[r.Pattern] = r.Access
	}
	routes := a.Routes()
	var open []httpx.Route
	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Pattern] {
			t.Errorf("%s is in the table twice", r.Pattern)
		}
		seen[r.Pattern] = true
		if need, ok := guarded[r.Pattern]; ok {
			if need != r.Access {
				t.Errorf("%s: the server's table says %s, its own %s", r.Pattern, r.Access, need)
			}
			delete(guarded, r.Pattern)
			continue
		}
		_, path, _ := strings.Cut(r.Pattern, " ")
		switch {
		case r.Access != httpx.Public && r.Access != httpx.Signed:
			t.Errorf("%s needs %s but is in neither the API's nor the editor's table, whose tests walk them", r.Pattern, r.Access)
		case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/edit"):
			t.Errorf("%s is open to %s outside the API's and the editor's guards", r.Pattern, r.Access)
		default:
			open = append(open, r)
		}
	}
	for p := range guarded {
		t.Errorf("%s is in a table but not on the server", p)
	}

	token := func(boardID *int64, role string) string { plain, _ := newToken(t, a, boardID, role, nil); return plain }
	callers := []struct{ name, token string }{{"anonymous", ""}, {"editor", token(&news.ID, board.RoleEditor)},
		{"publisher", token(&news.ID, board.RolePublisher)}, {"admin", token(nil, board.RolePublisher)}}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	var public, signed int
	for _, r := range open {
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.NewReplacer("{board}", "news", "{id}", fmt.Sprint(ann.ID), "{name}", "none.png", "{$}", "").Replace(path)
		codes := map[int][]string{}
		for _, c := range callers {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(""))
			switch {
			case r.Access == httpx.Signed: // a well-formed activity, unsigned
				req, _ = http.NewRequest(method, srv.URL+path, strings.NewReader(`{"type": "Follow", "actor": "https://peer.example/users/a", "object": "`+srv.URL+`/boards/news"}`))
				req.Header.Set("Content-Type", "application/activity+json")
			case method == http.MethodPost:
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[resp.StatusCode] = append(codes[resp.StatusCode], c.name)
			switch {
			case r.Access == httpx.Signed && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s unsigned, as %s: %d, want 401", r.Pattern, c.name, resp.StatusCode)
			case r.Access == httpx.Public && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500):
				t.Errorf("%s, public, as %s: %d", r.Pattern, c.name, resp.StatusCode)
			}
		}
		if len(codes) > 1 {
			t.Errorf("%s answers callers differently by their token: %v", r.Pattern, codes)
		}
		if r.Access == httpx.Public {
			public++
		} else {
			signed++
		}
	}
	if public < 20 || signed != 2 {
		t.Errorf("%d public and %d signed routes: the walk missed some", public, signed)
	}
	t.Logf("%d routes: %d guarded (walked above), %d public, %d signed, × %d callers", len(routes), len(routes)-len(open), public, signed, len(callers))
}

// newsApp is testApp and its board news.
func newsApp(t *testing.T) (*App, board.Board) {
	t.Helper()
	a := testApp(t)
	news, err := a.Store.BoardByName(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	return a, news
}

// newToken makes a token of a role on a board (nil: every board), until
// expires (nil: for good), and returns it and its id.
func newToken(t *testing.T, a *App, boardID *int64, role string, expires *time.Time) (string, int64) {
	t.Helper()
	plain, id, err := a.Store.CreateTokenUntil(context.Background(), boardID, "t", expires, role)
	if err != nil {
		t.Fatal(err)
	}
	return plain, id
}
