package main

// GoToSocial beside Crieur in BenchmarkPublicGETs: the yardstick
// for "a small server's public pages" is GoToSocial, the lightest
// fediverse server that also renders a profile and a post as web pages.
// CRIEUR_BENCH_GOTOSOCIAL names a directory holding its binary
// (gotosocial) and its web/ folder (the templates it renders with);
// scripts/bench.sh builds both from the module proxy's v0.19.2 (its zip
// has no vendored code: the dependencies come from the proxy too).
// Without it, the bench measures Crieur and the static handler only.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goToSocialEnv = "CRIEUR_BENCH_GOTOSOCIAL"

// goToSocial is a running GoToSocial with one account and its statuses.
type goToSocial struct {
	URL, host, user string
	status          string // the id of the account's last status
	bearer          string // the account's token
	pid             int    // the serving process
}

// startGoToSocial runs GoToSocial from dir on a free port, on SQLite, as
// its documentation sets it up (CLI account, confirmed), with request
// limits off (they would answer the bench's clients 429: its default
// allows 300 requests in 5 minutes per address), and posts statuses
// public statuses through its client API as an app would.
func startGoToSocial(b *testing.B, dir string, statuses int) *goToSocial {
	b.Helper()
	bin := filepath.Join(dir, "gotosocial")
	data := b.TempDir()
	addr := freeAddr(b)
	port := addr[strings.LastIndex(addr, ":")+1:]
	g := &goToSocial{URL: "http://" + addr, host: addr, user: "news"}
	env := append(os.Environ(),
		"GTS_HOST="+addr, "GTS_PROTOCOL=http", "GTS_BIND_ADDRESS=127.0.0.1", "GTS_PORT="+port,
		"GTS_DB_TYPE=sqlite", "GTS_DB_ADDRESS="+filepath.Join(data, "gts.db"),
		"GTS_STORAGE_LOCAL_BASE_PATH="+filepath.Join(data, "storage"),
		"GTS_WEB_TEMPLATE_BASE_DIR="+filepath.Join(dir, "web", "template")+"/",
		"GTS_WEB_ASSET_BASE_DIR="+filepath.Join(dir, "web", "assets")+"/",
		"GTS_LOG_LEVEL=warn", "GTS_ADVANCED_RATE_LIMIT_REQUESTS=0", "GTS_ADVANCED_THROTTLING_MULTIPLIER=0",
	)
	if err := os.MkdirAll(filepath.Join(data, "storage"), 0o700); err != nil {
		b.Fatal(err)
	}
	const email, password = "news@example.org", "Crieur-bench-2026: long enough to pass its strength check"
	// Accounts can be made only once the server has run (it creates its
	// instance application then): start, stop, make the account, start.
	stop := g.serve(b, bin, env)
	stop()
	for _, args := range [][]string{
		{"admin", "account", "create", "--username", g.user, "--email", email, "--password", password},
		{"admin", "account", "confirm", "--username", g.user},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("gotosocial %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
	}
	b.Cleanup(g.serve(b, bin, env))
	g.bearer = g.signIn(b, email, password)
	for i := range statuses {
		var st struct{ ID string }
		g.api(b, g.bearer, "POST", "/api/v1/statuses", map[string]any{
			"status": fmt.Sprintf("Announcement %d: some text for the page, #bench.", i), "visibility": "public"}, &st)
		g.status = st.ID
	}
	return g
}

// serve starts the server and waits until it is ready; it returns what
// stops it.
func (g *goToSocial) serve(b *testing.B, bin string, env []string) (stop func()) {
	b.Helper()
	srv := exec.Command(bin, "server", "start")
	srv.Env = env
	var log logBuffer
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	g.pid = srv.Process.Pid
	stop = func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
	}
	// It compiles ffmpeg's WebAssembly as it starts: many seconds.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(g.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop
			}
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("GoToSocial not ready in 3 minutes:\n%s", tail(log.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// signIn gets a user token the way an app does with GoToSocial (it has no
// password grant): register an app, sign in through the web form, accept
// the authorisation, exchange the code (internal/api/auth: signin.go,
// authorize.go, token.go).
func (g *goToSocial) signIn(b *testing.B, email, password string) string {
	b.Helper()
	const redirect = "http://127.0.0.1:9/callback" // never followed: the code is read off the redirect
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	g.api(b, "", "POST", "/api/v1/apps", map[string]any{"client_name": "crieur-bench", "redirect_uris": redirect, "scopes": "read write"}, &app)
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	authorize := g.URL + "/oauth/authorize?" + url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"read write"}}.Encode()
	form := func(method, target string, values url.Values) *http.Response {
		var body io.Reader
		if values != nil {
			body = strings.NewReader(values.Encode())
		}
		req, _ := http.NewRequest(method, target, body)
		req.Header.Set("Accept", "text/html")
		if values != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := web.Do(req)
		if err != nil {
			b.Fatalf("%s %s: %v", method, target, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	form("GET", authorize, nil) // keeps the request in the session, shows the sign-in form
	form("POST", g.URL+"/auth/sign_in", url.Values{"username": {email}, "password": {password}})
	resp := form("POST", g.URL+"/oauth/authorize", url.Values{})
	loc, err := url.Parse(resp.Header.Get("Location"))
	code := ""
	if err == nil {
		code = loc.Query().Get("code")
	}
	if code == "" {
		b.Fatalf("GoToSocial's authorisation gave no code: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	g.api(b, "", "POST", "/oauth/token", map[string]any{"grant_type": "authorization_code", "client_id": app.ClientID,
		"client_secret": app.ClientSecret, "redirect_uri": redirect, "code": code}, &tok)
	return tok.AccessToken
}

// api calls GoToSocial's client API with JSON.
func (g *goToSocial) api(b *testing.B, token, method, path string, in, out any) {
	b.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, g.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("GoToSocial %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GoToSocial %s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		b.Fatalf("GoToSocial %s %s: %v", method, path, err)
	}
}
