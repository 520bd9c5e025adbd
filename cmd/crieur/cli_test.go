package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crieur/board/api/client"
)

// The README's run command: `crieur serve` in an empty directory, no
// configuration, creates ./data, a board and a token shown once.
func TestZeroConfigServe(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // ./data is the default data folder
	port := freePort(t)
	start := func() (string, *logBuffer, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		stdout, stderr := &logBuffer{}, &logBuffer{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = run(ctx, []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, strings.NewReader(""), stdout, stderr, nil)
		}()
		waitFor(t, 15*time.Second, "crieur to listen", func() bool {
			return strings.Contains(stderr.String(), "crieur listening")
		})
		// The token is printed before the server listens.
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return stdout.String(), stderr, stop
	}
	out, logs, stop := start()
	var token string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "crieur_") {
			token = line
		}
	}
	if token == "" {
		t.Fatalf("no admin token printed: %q", out)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the admin token reached the log")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "crieur.db")); err != nil {
		t.Fatalf("no database in ./data: %v", err)
	}
	api := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), token)
	var boards []map[string]any
	if code, err := api.Call(context.Background(), "GET", "/api/v1/boards", nil, nil, &boards); err != nil || code != 200 || len(boards) != 1 || boards[0]["name"] != "news" {
		t.Fatalf("boards: %d %v %v", code, err, boards)
	}
	stop()

	out, _, _ = start()
	if strings.Contains(out, "crieur_") {
		t.Fatal("a second start printed another token")
	}
	if code, _ := api.Call(context.Background(), "GET", "/api/v1/boards", nil, nil, nil); code != 200 {
		t.Fatalf("the first token stopped working after a restart: %d", code)
	}

	// crieur post, through the admin API.
	env := []string{"CRIEUR_TOKEN=" + token, "CRIEUR_SERVER=" + api.Server}
	post := func(stdin string, args ...string) (string, error) {
		return runCLI(stdin, env, append([]string{"post"}, args...)...)
	}
	if out, err := post("We need **you**.", "--title", "Cooks wanted", "--kind", "call", "--role", "cook:2", "--contact", "a@b.org", "--idempotency-key", "cooks"); err != nil || !strings.Contains(out, "posted announcement 1") {
		t.Fatalf("post: %v %s", err, out)
	}
	if out, err := post("We need **you**.", "--title", "Cooks wanted", "--kind", "call", "--role", "cook:2", "--contact", "a@b.org", "--idempotency-key", "cooks"); err != nil || !strings.Contains(out, "already posted announcement 1") {
		t.Fatalf("repeat post: %v %s", err, out)
	}
	if out, err := post("x", "--title", "Cooks", "--kind", "call", "--role", "cook"); err == nil || !strings.Contains(out, "NAME:PLACES") {
		t.Fatalf("bad role: %v %s", err, out)
	}
	if out, err := post("x", "--kind", "call", "--role", "cook:2"); err == nil || !strings.Contains(out, "title: This is required.") || !strings.Contains(out, "call.contact") {
		t.Fatalf("invalid post: %v %s", err, out)
	}
	// Details of another kind are refused, not dropped: without --kind
	// this would have been a plain news item.
	if out, err := post("x", "--title", "Party", "--start", "2026-12-24T18:00:00+01:00", "--place", "Here"); err == nil || !strings.Contains(out, "add --kind event") {
		t.Fatalf("event details on a news post: %v %s", err, out)
	}
	if out, err := post("x", "--title", "X", "--board", "nope"); err == nil || !strings.Contains(out, `no board "nope"`) {
		t.Fatalf("an unknown board: %v %s", err, out)
	}
	// CRIEUR_BOARD stands for --board, which still wins.
	if out, err := runCLI("x", append(env, "CRIEUR_BOARD=nope"), "post", "--title", "X"); err == nil || !strings.Contains(out, `no board "nope"`) {
		t.Fatalf("CRIEUR_BOARD: %v %s", err, out)
	}
	if out, err := runCLI("x", append(env, "CRIEUR_BOARD=nope"), "post", "--board", "news"); err == nil || !strings.Contains(out, "title: This is required.") {
		t.Fatalf("--board over CRIEUR_BOARD (news takes the post, which lacks its title): %v %s", err, out)
	}

	// crieur post --pin and crieur pin.
	if out, err := post("Now open.", "--title", "Campaign", "--pin"); err != nil || !strings.Contains(out, "pinned announcement 2") {
		t.Fatalf("post --pin: %v %s", err, out)
	}
	pin := func(args ...string) (string, error) { return runCLI("", env, append([]string{"pin"}, args...)...) }
	if out, err := pin("--unpin", "2"); err != nil || !strings.Contains(out, "unpinned announcement 2") {
		t.Fatalf("unpin: %v %s", err, out)
	}
	if out, err := pin("99"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("pin of a missing announcement: %v %s", err, out)
	}
	var pinned []map[string]any
	api.Call(context.Background(), "GET", "/api/v1/boards/news/announcements", nil, nil, &pinned)
	for _, a := range pinned {
		if a["pinned"] == true {
			t.Fatalf("still pinned after unpin: %v", a)
		}
	}
}

// Commands that read a data directory do not make an empty one when
// --data is mistyped: they say there is no database there.
func TestCommandsRefuseAMissingDataDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"board", "list"}, {"board", "key", "news"}, {"token", "create"},
		{"deliveries", "dead"}, {"deliveries", "retry", "--all"},
	} {
		out, err := runCLI("", nil, append(args, "--data", dir)...)
		if err == nil || !strings.Contains(out, "no Crieur database at "+filepath.Join(dir, "crieur.db")) {
			t.Errorf("crieur %v on a missing directory: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a command created %s", dir)
	}
	// Creating a board is how an operator may start, before serve.
	if out, err := runCLI("", nil, "board", "create", "news", "--data", dir); err != nil || !strings.Contains(out, "created board news") {
		t.Fatalf("board create in a new directory: %v\n%s", err, out)
	}
}

// Tokens can be listed and revoked from the CLI and the API; a revoked
// token ends its editor sessions; an expired one says so.
func TestTokensListRevokeExpire(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	cli := func(args ...string) (string, error) { return runCLI("", nil, append(args, "--data", c.DataDir)...) }
	editor, err := cli("token", "create", "--board", "news", "--label", "Marie")
	if err != nil {
		t.Fatalf("create: %v %s", err, editor)
	}
	editor = strings.TrimSpace(editor)
	// The editor signs in to the web editor, and uses the API once.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(c.URL+"/edit/login", url.Values{"token": {editor}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	signedIn := func() bool {
		resp, err := browser.Get(c.URL + "/edit")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "csrf")
	}
	if !signedIn() {
		t.Fatal("not signed in")
	}
	req, _ := http.NewRequest("GET", c.URL+"/api/v1/boards", nil)
	req.Header.Set("Authorization", "Bearer "+editor)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 200 {
		t.Fatalf("editor token: %d", resp.StatusCode)
	}
	out, err := cli("token", "list")
	if err != nil || !strings.Contains(out, "Marie") || !strings.Contains(out, "news") || strings.Contains(out, "crieur_") {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	var list []map[string]any
	c.api("GET", "/api/v1/tokens", nil, nil, &list)
	var id string
	for _, tok := range list {
		if tok["label"] == "Marie" {
			id = fmt.Sprint(tok["id"])
			if tok["last_used_at"] == nil || tok["created_at"] == nil {
				t.Errorf("token shows no use or creation: %v", tok)
			}
		}
	}
	if out, err := cli("token", "revoke", id); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if signedIn() {
		t.Error("the editor session outlived its revoked token")
	}
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Errorf("revoked token: %d, want 401", resp.StatusCode)
	}
	// Through the API: create with a lifetime, revoke.
	var created map[string]any
	if code := c.api("POST", "/api/v1/tokens", map[string]any{"board": "news", "label": "Paul", "expires_in": "30d"}, nil, &created); code != 201 || created["expires_at"] == nil {
		t.Fatalf("API create: %d %v", code, created)
	}
	if code := c.api("DELETE", fmt.Sprintf("/api/v1/tokens/%v", created["id"]), nil, nil, nil); code != 204 {
		t.Fatalf("API revoke: %d", code)
	}
	// An expired token says so.
	short, _ := cli("token", "create", "--expires", "1ms")
	time.Sleep(10 * time.Millisecond)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(short))
	resp, _ = http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "expired") {
		t.Errorf("expired token: %d %s", resp.StatusCode, b)
	}
	// Sign-in posted from another site is refused (login CSRF).
	cross, _ := http.NewRequest("POST", c.URL+"/edit/login", strings.NewReader(url.Values{"token": {c.Token}}.Encode()))
	cross.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cross.Header.Set("Origin", "https://evil.example")
	if resp, _ := http.DefaultClient.Do(cross); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", resp.StatusCode)
	}
}

// crieur block, through the admin API.
func TestBlockCommands(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	cli := func(args ...string) (string, error) { return c.cli("", append([]string{"block"}, args...)...) }
	if out, err := cli("add", "spam.example"); err != nil || !strings.Contains(out, "blocked spam.example") {
		t.Fatalf("add: %v %s", err, out)
	}
	if out, err := cli("add", "https://bad.example/users/troll", "--board", "news"); err != nil || !strings.Contains(out, "blocked") {
		t.Fatalf("add on a board: %v %s", err, out)
	}
	if out, err := cli("add", "not a domain"); err == nil || !strings.Contains(out, "Give a domain") {
		t.Fatalf("bad target: %v %s", err, out)
	}
	out, err := cli("list", "--board", "news")
	if err != nil || !strings.Contains(out, "spam.example") || !strings.Contains(out, "https://bad.example/users/troll") {
		t.Fatalf("list: %v %s", err, out)
	}
	if out, err := cli("remove", "1", "--board", "news"); err == nil || !strings.Contains(out, "not found") {
		t.Fatalf("a board's editors lifted a server-wide block: %v %s", err, out)
	}
	if out, err := cli("remove", "1"); err != nil || !strings.Contains(out, "lifted") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if out, _ := cli("list"); strings.Contains(out, "spam.example") {
		t.Fatalf("still listed: %s", out)
	}
}

// A board's display name, summary and language are set from the CLI; the
// language is its pages' default, and a browser asking for another
// supported language gets it. --help is no failure.
func TestBoardSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cli := func(args ...string) (string, error) { return runCLI("", nil, append(args, "--data", dir)...) }
	if out, err := cli("board", "create", "climat", "--display-name", "Groupe climat", "--summary", "Actions locales", "--language", "fr"); err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	if out, err := cli("board", "set", "climat", "--language", "de"); err == nil || !strings.Contains(out, "en or fr") {
		t.Fatalf("an unsupported language: %v %s", err, out)
	}
	// Flags before the name, as many commands take them: said so, nothing
	// made (a helper's trial saw only the usage line).
	for _, args := range [][]string{
		{"board", "create", "--data", dir, "jardin"},
		{"board", "set", "--language", "fr", "climat"},
		{"relay", "list", "--token", "x", "climat"},
	} {
		if out, err := runCLI("", nil, args...); err == nil || !strings.Contains(out, "comes first, then the flags ("+args[2]+" came before it)") || !strings.Contains(out, "usage: crieur") {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
	if out, _ := cli("board", "list"); strings.Contains(out, "jardin") {
		t.Errorf("a board was made from a command with its flags first:\n%s", out)
	}
	c := startCrieur(t, dir, 0)
	page := func(accept string) string {
		req, _ := http.NewRequest("GET", c.URL+"/boards/climat", nil)
		req.Header.Set("Accept", "text/html")
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if p := page(""); !strings.Contains(p, `lang="fr"`) || !strings.Contains(p, "Groupe climat") || !strings.Contains(p, "Actions locales") {
		t.Fatalf("the board's own language:\n%s", p)
	}
	if p := page("de-DE,de"); !strings.Contains(p, `lang="fr"`) {
		t.Errorf("a browser asking for an unsupported language should get the board's")
	}
	if p := page("en-GB,en"); !strings.Contains(p, `lang="en"`) {
		t.Errorf("an English browser should get English")
	}
	if out, err := runCLI("", nil, "post", "--help"); err != nil || !strings.Contains(out, "Usage") {
		t.Errorf("post --help: %v\n%s", err, out)
	}
}

// A first start that cannot listen (the port is taken) fails without
// spending the admin token: the next start shows it.
func TestFirstTokenOnlyOnceListening(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--listen", busy.Addr().String(), "--data", dir}, strings.NewReader(""), &stdout, &stderr, nil); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serve on a taken port: %v %s", err, stderr.String())
	}
	if strings.Contains(stdout.String(), "crieur_") {
		t.Fatalf("a start that failed printed the admin token:\n%s", stdout.String())
	}
	if c := startCrieur(t, dir, 0); !strings.HasPrefix(c.Token, "crieur_") {
		t.Fatal("the next start did not print the admin token")
	}
}

// crieur edit changes only what it is given and says when nothing
// changed; crieur delete names what it would delete and wants --yes.
func TestEditAndDeleteCommands(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	a, code := c.post(map[string]any{"title": "Repair caffe", "body": "Saturday.", "tags": []string{"repair"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	cli := c.cli
	id := fmt.Sprint(a.ID)
	if out, err := cli("", "edit", id); err == nil || !strings.Contains(out, "nothing to change") {
		t.Fatalf("edit without changes: %v %s", err, out)
	}
	if out, err := cli("Saturday, 10:00 to 16:00.", "edit", "--title", "Repair café", id, "-"); err != nil || !strings.Contains(out, "updated announcement "+id) || !strings.Contains(out, "version 2") {
		t.Fatalf("edit: %v %s", err, out)
	}
	var got struct {
		Title, Body string
		Tags        []string
	}
	c.api("GET", "/api/v1/boards/news/announcements/"+id, nil, nil, &got)
	if got.Title != "Repair café" || got.Body != "Saturday, 10:00 to 16:00." || len(got.Tags) != 1 || got.Tags[0] != "repair" {
		t.Fatalf("after the edit: %+v", got)
	}
	if out, err := cli("", "edit", "--title", "Repair café", id); err != nil || !strings.Contains(out, "no change") {
		t.Fatalf("the same edit again: %v %s", err, out)
	}
	if out, err := cli("", "edit", "--board", "nope", "--title", "X", id); err == nil || !strings.Contains(out, `no board "nope"`) {
		t.Fatalf("edit on an unknown board: %v %s", err, out)
	}
	// An outage marked resolved from the command line.
	o, _ := c.post(map[string]any{"kind": "outage", "title": "Mail down", "outage": map[string]any{"service": "mail", "from": time.Now().Add(-time.Hour).Format(time.RFC3339)}}, nil)
	if out, err := cli("", "resolve", fmt.Sprint(o.ID)); err != nil || !strings.Contains(out, "resolved: Mail down") {
		t.Fatalf("resolve: %v %s", err, out)
	}
	var outage struct {
		Outage struct {
			Resolved *string `json:"resolved"`
		} `json:"outage"`
	}
	if c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d", o.ID), nil, nil, &outage); outage.Outage.Resolved == nil {
		t.Fatal("crieur resolve did not mark it resolved")
	}
	if out, err := cli("", "resolve", id); err == nil || !strings.Contains(out, "Only an outage") {
		t.Fatalf("resolving a news item: %v %s", err, out)
	}
	if out, err := cli("", "delete", id); err == nil || !strings.Contains(out, "this deletes “Repair café”") || !strings.Contains(out, "--yes") {
		t.Fatalf("delete without --yes: %v %s", err, out)
	}
	var state struct {
		DeletedAt *string `json:"deleted_at"`
	}
	if c.api("GET", "/api/v1/boards/news/announcements/"+id, nil, nil, &state); state.DeletedAt != nil {
		t.Fatal("deleted without --yes")
	}
	if out, err := cli("", "delete", "--yes", id); err != nil || !strings.Contains(out, "deleted announcement "+id) {
		t.Fatalf("delete: %v %s", err, out)
	}
	if c.api("GET", "/api/v1/boards/news/announcements/"+id, nil, nil, &state); state.DeletedAt == nil {
		t.Fatal("still there after crieur delete --yes")
	}
}

func TestCLIDraftPreviewSchedule(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	cli := c.cli
	count := func() int {
		var list []struct{ ID int64 }
		c.api("GET", "/api/v1/boards/news/announcements", nil, nil, &list)
		return len(list)
	}
	out, err := cli("Bring **your** toaster.", "post", "--preview", "--title", "Repair café", "--cw", "tools", "-")
	if err != nil || !strings.Contains(out, "nothing was posted") || !strings.Contains(out, "== Mastodon and the fediverse ==") ||
		!strings.Contains(out, "<strong>your</strong>") || !strings.Contains(out, "[content warning: tools]") {
		t.Fatalf("post --preview: %v\n%s", err, out)
	}
	if n := count(); n != 0 {
		t.Fatalf("a preview posted %d announcements", n)
	}
	if out, err = cli("Bring your toaster.", "post", "--draft", "--title", "Repair café", "-"); err != nil || !strings.Contains(out, "saved draft") {
		t.Fatalf("post --draft: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`announcement (\d+)`).FindStringSubmatch(out)[1]
	if out, err = cli("", "edit", "--title", "Repair café, 2nd edition", "--preview", id); err != nil || !strings.Contains(out, "Repair café, 2nd edition") {
		t.Fatalf("edit --preview: %v\n%s", err, out)
	}
	var a struct{ Title, Status string }
	if c.api("GET", "/api/v1/boards/news/announcements/"+id, nil, nil, &a); a.Title != "Repair café" || a.Status != "draft" {
		t.Fatalf("after the previews: %+v", a)
	}
	if out, err = cli("", "edit", "--publish-at", "yesterday", id); err == nil || !strings.Contains(out, "RFC 3339") {
		t.Fatalf("a bad time: %v\n%s", err, out)
	}
	later := time.Now().Add(72 * time.Hour).Format(time.RFC3339)
	if out, err = cli("", "edit", "--publish", "--publish-at", later, id); err != nil || !strings.Contains(out, "scheduled announcement "+id) {
		t.Fatalf("edit --publish --publish-at: %v\n%s", err, out)
	}
	if out, err = cli("", "edit", "--publish-at", "", id); err != nil || !strings.Contains(out, "published announcement "+id) {
		t.Fatalf("edit --publish-at '': %v\n%s", err, out)
	}
	if out, err = cli("", "edit", "--expires-at", time.Now().Add(-time.Hour).Format(time.RFC3339), id); err == nil || !strings.Contains(out, "already past") {
		t.Fatalf("a past expiry: %v\n%s", err, out)
	}
	if out, err = cli("", "edit", "--expires-at", later, id); err != nil || !strings.Contains(out, "readers see no change") {
		t.Fatalf("edit --expires-at: %v\n%s", err, out)
	}
}

func TestCLIPostWithPicture(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	photo := filepath.Join(t.TempDir(), "stall.jpg")
	if err := os.WriteFile(photo, testJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) { return c.cli("", args...) }
	if out, err := cli("post", "--title", "Thank you!", "--image", photo); err == nil || !strings.Contains(out, "has no --alt") {
		t.Fatalf("a picture without a description: %v\n%s", err, out)
	}
	out, err := cli("post", "--title", "Thank you!", "--image", photo, "--alt", "Our stall, with jam jars")
	if err != nil || !strings.Contains(out, "posted announcement") {
		t.Fatalf("post --image --alt: %v\n%s", err, out)
	}
	var list []struct {
		Images []struct {
			Alt   string
			Width int
		}
	}
	c.api("GET", "/api/v1/boards/news/announcements", nil, nil, &list)
	if len(list) != 1 || len(list[0].Images) != 1 || list[0].Images[0].Alt != "Our stall, with jam jars" || list[0].Images[0].Width != 120 {
		t.Fatalf("posted: %+v", list)
	}
	if out, err := cli("post", "--title", "Logo", "--image", photo, "--decorative"); err != nil {
		t.Fatalf("post --decorative: %v\n%s", err, out)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	_ = os.WriteFile(notes, []byte("shopping list"), 0o644)
	if out, err := cli("post", "--title", "Not a picture", "--image", notes, "--alt", "x"); err == nil || !strings.Contains(out, "JPEG, PNG, GIF or WebP") {
		t.Fatalf("a file that is not a picture: %v\n%s", err, out)
	}
}

func TestCLICampaignAndRaised(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	out, err := c.cli("", "post", "--kind", "campaign", "--title", "Winter fund", "--goal", "3000", "--raised", "1240", "--link", "https://www.helloasso.com/associations/asso", "--tax-note", "66 % deductible")
	if err != nil || !strings.Contains(out, "posted announcement") {
		t.Fatalf("post a campaign: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`announcement (\d+)`).FindStringSubmatch(out)[1]
	if out, err = c.cli("", "raised", id, "1500,50"); err != nil || out != "Winter fund: 1,500.50\u00a0€ of 3,000\u00a0€ (50 %)\n" {
		t.Fatalf("crieur raised: %v\n%q", err, out)
	}
	if out, err = c.cli("", "raised", id, "lots"); err == nil || !strings.Contains(out, "as a number") {
		t.Errorf("crieur raised with words: %v\n%s", err, out)
	}
	if out, err = c.cli("", "post", "--title", "News", "--goal", "3"); err == nil || !strings.Contains(out, "--goal is for --kind campaign") {
		t.Errorf("a campaign flag on news: %v\n%s", err, out)
	}
	// A training takes a start and a place too: the error says so.
	if out, err = c.cli("", "post", "--title", "News", "--start", "2027-01-01T10:00:00Z"); err == nil || !strings.Contains(out, "--start is for --kind event or training") {
		t.Errorf("an event flag on news: %v\n%s", err, out)
	}
}

// On a board that wants a second publisher, the CLI says what became of
// an edit: asked for, or waiting beside what readers see (issue 23,
// point 2); the second publisher's approve sends it.
func TestCLIEditOnAnApprovalBoard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startCrieur(t, dir, 0)
	local := func(args ...string) (string, error) { return runCLI("", nil, append(args, "--data", dir)...) }
	if out, err := local("board", "set", "news", "--approval"); err != nil || !strings.Contains(out, "approval is on: a second publisher") {
		t.Fatalf("set --approval: %v %s", err, out)
	}
	alice, err := local("token", "create", "--board", "news", "--label", "Alice", "--role", "publisher")
	if err != nil {
		t.Fatalf("token: %v %s", err, alice)
	}
	as := func(token, stdin string, args ...string) (string, error) {
		return runCLI(stdin, []string{"CRIEUR_TOKEN=" + strings.TrimSpace(token), "CRIEUR_SERVER=" + c.URL}, args...)
	}
	out, err := as(alice, "Saturday.", "post", "--title", "Repair café", "-")
	if err != nil {
		t.Fatalf("post: %v %s", err, out)
	}
	id := regexp.MustCompile(`announcement (\d+)`).FindStringSubmatch(out)
	if id == nil || !strings.HasPrefix(out, "asked to publish (another publisher of the board approves it") {
		t.Fatalf("post said %q", out)
	}
	base := "/api/v1/boards/news/announcements/" + id[1]
	if code := c.api("POST", base+"/approve", nil, nil, nil); code != 200 {
		t.Fatalf("the second publisher approves: %d", code)
	}
	if out, err := as(alice, "Saturday, 10:00 to 16:00.", "edit", id[1], "-"); err != nil || !strings.Contains(out, "waits for another publisher of news to approve it") {
		t.Fatalf("an edit of the published announcement: %v %s", err, out)
	}
	var got struct{ Body string }
	c.api("GET", base, nil, nil, &got)
	if got.Body != "Saturday." {
		t.Fatalf("readers see %q before approval", got.Body)
	}
	if code := c.api("POST", base+"/approve", nil, nil, nil); code != 200 {
		t.Fatalf("approving the edit: %d", code)
	}
	c.api("GET", base, nil, nil, &got)
	if got.Body != "Saturday, 10:00 to 16:00." {
		t.Fatalf("after approval readers see %q", got.Body)
	}
}
