package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
)

// signupPage serves the public pages of a rig with one published call.
func signupPage(t *testing.T, roles ...board.Role) (*Pages, *boardtest.Rig, string, board.Announcement) {
	t.Helper()
	ctx := context.Background()
	rig := boardtest.New(t)
	a, _, err := rig.Service.Create(ctx, board.System, rig.Board, board.Draft{Kind: board.KindCall, Title: "Cooks for the fair",
		Call: &board.Call{Contact: "fair@example.org", Multiple: true, Roles: roles}}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPages(rig.Store, rig.Service, boardtest.Links{}, "", slog.New(slog.DiscardHandler))
	mux := httpx.NewRoutes()
	p.Register(mux)
	mux.Handle("GET /boards/{board}/a/{id}", httpx.Public, p.withAnnouncement(p.Announcement))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, rig, fmt.Sprintf("%s/boards/news/a/%d", srv.URL, a.ID), a
}

var formKeyRe = regexp.MustCompile(`name="key" value="([^"]+)"`)

// freshKey reads the key of the form on the call's page, as a browser does.
func freshKey(t *testing.T, page string) string {
	t.Helper()
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	m := formKeyRe.FindSubmatch(html)
	if m == nil {
		t.Fatalf("no form key on the page (%d)", resp.StatusCode)
	}
	return string(m[1])
}

func postSignup(t *testing.T, page, forwardedFor string, form url.Values) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", page+"/signup?lang=en", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// Point 6 of issue 23: keys the client makes up are refused, the same
// name and contact three times is one sign-up, and one network sending a
// thousand sign-ups is stopped after its allowance with a clear "try
// again in N minutes", while another network behind the same proxy still
// signs up.
func TestPublicSignupsAreBounded(t *testing.T) {
	ctx := context.Background()
	p, rig, page, a := signupPage(t, board.Role{Name: "cook", Places: 2000})
	count := func() int {
		sus, err := rig.Store.Signups(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(sus)
	}

	code, body, _ := postSignup(t, page, "", url.Values{"name": {"Bot"}, "role": {"cook"}, "key": {"form-0123456789abcdef0123456789abcdef"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "This form has expired; please fill it in again.") || count() != 0 {
		t.Fatalf("a made-up key: %d, %d stored", code, count())
	}
	if code, _, _ := postSignup(t, page, "", url.Values{"name": {"Ana"}, "contact": {"ana@example.org"}, "role": {"cook"}, "key": {freshKey(t, page)}}); code != http.StatusOK {
		t.Fatalf("a key from the page: %d", code)
	}
	for _, contact := range []string{"ana@example.org", " ANA@example.org "} {
		code, body, _ := postSignup(t, page, "", url.Values{"name": {"ana"}, "contact": {contact}, "role": {"cook"}, "key": {freshKey(t, page)}})
		if code != http.StatusConflict || !strings.Contains(body, "Someone with this name and contact has already signed up") {
			t.Errorf("Ana again as %q: %d", contact, code)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("the same name and contact three times: %d sign-ups", n)
	}
	// Ben shares Ana's address: another name is another person.
	if code, _, _ := postSignup(t, page, "", url.Values{"name": {"Ben"}, "contact": {"ana@example.org"}, "role": {"cook"}, "key": {freshKey(t, page)}}); code != http.StatusOK || count() != 2 {
		t.Fatalf("Ben with Ana's address: %d, %d sign-ups", code, count())
	}

	// One network: 50 at once, then two a minute (120 an hour).
	p.LimitSignups(httpx.Clients{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, 120)
	before := count()
	var stored, limited atomic.Int64
	var retry atomic.Value
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				// Each sign-up with a key of its own, as from a fresh page.
				key, err := p.keys.issue(ctx, a.ID, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				code, body, h := postSignup(t, page, "203.0.113.7", url.Values{"name": {fmt.Sprintf("Bot %d", i)}, "role": {"cook"}, "key": {key}})
				switch code {
				case http.StatusOK:
					stored.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
					retry.Store([2]string{h.Get("Retry-After"), regexp.MustCompile(`Too many[^<]*`).FindString(body)})
				default:
					t.Errorf("sign-up %d: %d", i, code)
				}
			}
		})
	}
	const flood = 400 // each refusal is a page: 1,000 took 33 s under -race
	for i := range flood {
		work <- i
	}
	close(work)
	wg.Wait()
	// 50 at once, and one more each 30 s the flood lasted.
	allowed := 50 + int64(time.Since(start)/(30*time.Second))
	if rows := int64(count() - before); stored.Load() > allowed || rows != stored.Load() || stored.Load()+limited.Load() != flood {
		t.Fatalf("%d sign-ups from one network: %d accepted, %d stored, %d limited; at most %d allowed", flood, stored.Load(), rows, limited.Load(), allowed)
	}
	t.Logf("%d sign-ups from one network in %s: %d stored, %d told to come back", flood, time.Since(start).Round(time.Millisecond), stored.Load(), limited.Load())
	told, _ := retry.Load().([2]string)
	if told[0] == "" || told[1] != "Too many sign-ups from your network; try again in 1 minute." {
		t.Errorf("what the limited are told: Retry-After %q, %q", told[0], told[1])
	}
	// A visitor from another network, behind the same proxy.
	if code, _, _ := postSignup(t, page, "198.51.100.2", url.Values{"name": {"Chloé"}, "role": {"cook"}, "key": {freshKey(t, page)}}); code != http.StatusOK {
		t.Fatalf("another network: %d", code)
	}
	// X-Forwarded-For from a client that is not a trusted proxy is its
	// own to write and changes nothing.
	p.LimitSignups(httpx.Clients{}, 120)
	for i := range 60 {
		postSignup(t, page, fmt.Sprintf("192.0.2.%d", i), url.Values{"name": {fmt.Sprintf("Spoof %d", i)}, "role": {"cook"}, "key": {freshKey(t, page)}})
	}
	if code, _, _ := postSignup(t, page, "192.0.2.200", url.Values{"name": {"Spoof"}, "role": {"cook"}, "key": {freshKey(t, page)}}); code != http.StatusTooManyRequests {
		t.Errorf("a client writing its own X-Forwarded-For: %d, want 429", code)
	}
}

// What a person meets after sending the form (found by trying it): the
// answer's page is someone else's fresh form; its language links, a
// reload or a bookmark of .../signup lead to the page; the withdraw
// page keeps its link's token in every language, and offers nothing to a
// link that belongs to no sign-up.
func TestAfterTheSignupForm(t *testing.T) {
	ctx := context.Background()
	_, rig, page, a := signupPage(t, board.Role{Name: "cook", Places: 5})
	code, body, _ := postSignup(t, page, "", url.Values{"name": {"Alice"}, "contact": {"alice@example.org"}, "role": {"cook"}, "key": {freshKey(t, page)}})
	if code != http.StatusOK {
		t.Fatalf("Alice: %d", code)
	}
	// Bob signs up from the page Alice's answer left on the phone.
	next := formKeyRe.FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no form on the answer's page")
	}
	code, bob, _ := postSignup(t, page, "", url.Values{"name": {"Bob"}, "contact": {"bob@example.org"}, "role": {"cook"}, "key": {next[1]}})
	if sus, _ := rig.Store.Signups(ctx, a.ID); code != http.StatusOK || !strings.Contains(bob, "You are signed up as cook") || len(sus) != 2 {
		t.Fatalf("Bob from Alice's answer page: %d, %d sign-ups\n%s", code, len(sus), regexp.MustCompile(`class="notice"[^<]*`).FindString(bob))
	}
	path := fmt.Sprintf("/boards/news/a/%d", a.ID)
	if !strings.Contains(bob, `href="`+path+`?lang=fr"`) {
		t.Errorf("the answer's language links do not lead to the page")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(page + "/signup?lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?lang=fr" {
		t.Errorf("GET .../signup: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	link := regexp.MustCompile(`href="([^"]+/withdraw\?lang=en&amp;t=[^"]+)"`).FindStringSubmatch(bob)
	if link == nil {
		t.Fatal("no withdraw link")
	}
	u, _ := url.Parse(strings.ReplaceAll(link[1], "&amp;", "&"))
	resp, _ = http.Get(page + "/withdraw?lang=en&t=" + url.QueryEscape(u.Query().Get("t")))
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(html), "t="+url.QueryEscape(u.Query().Get("t"))+"&amp;lang=fr") {
		t.Errorf("the withdraw page's French link loses the token")
	}
	resp, _ = http.Get(page + "/withdraw?t=nope")
	html, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(html), `type="submit"`) {
		t.Errorf("a link that belongs to no sign-up: %d, offered to withdraw", resp.StatusCode)
	}
}

// A role that fills up between opening the page and sending it takes
// nothing from the person: the answer says so and keeps their name and
// contact, so they choose another role without typing them again.
func TestRoleFilledUpKeepsWhatWasTyped(t *testing.T) {
	_, _, page, _ := signupPage(t, board.Role{Name: "cook", Places: 1}, board.Role{Name: "driver", Places: 2})
	mine, theirs := freshKey(t, page), freshKey(t, page)
	if code, body, _ := postSignup(t, page, "", url.Values{"key": {theirs}, "name": {"Ana"}, "role": {"cook"}}); code != http.StatusOK {
		t.Fatalf("the first sign-up: %d\n%s", code, body)
	}
	code, body, _ := postSignup(t, page, "", url.Values{"key": {mine}, "name": {"Chloe Bernard"}, "contact": {"chloe@example.fr"}, "role": {"cook"}})
	if code != http.StatusOK || !strings.Contains(body, "cook filled up just before you answered") {
		t.Fatalf("the late answer: %d\n%s", code, body)
	}
	for _, want := range []string{`id="su-name" name="name" required maxlength="100" autocomplete="name" value="Chloe Bernard"`, `value="chloe@example.fr"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form after the role filled up lacks %s", want)
		}
	}
}
