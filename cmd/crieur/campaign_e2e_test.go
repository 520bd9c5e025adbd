package main

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// A donation campaign as a Fedify follower and a Dendrite room read it:
// its progress in words; fifty gifts within seconds give a handful of
// Updates and edits, the last with the last total; it is featured while it
// runs.
func TestCampaignProgressReachesFollowersAndRooms(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	m := newMatrixRig(t, "CRIEUR_PROGRESS_EVERY=3s")
	c := m.c
	p := startPeer(t)
	p.follow(c)
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Keep our servers running", "body": "Give what you can.",
		"campaign": map[string]any{"goal": 3000, "raised": 1240, "link": "https://www.helloasso.com/associations/asso", "tax_note": "66 % deductible in France"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	create := p.waitActivity("Create", c.objectURL(a.ID))
	const first = "1,240\u00a0€ of 3,000\u00a0€ (41 %)"
	if content, _ := create.object()["content"].(string); !strings.Contains(content, "Raised: "+first) || !strings.Contains(content, "helloasso.com/associations/asso") {
		t.Errorf("the follower reads %q", content)
	}
	for _, room := range m.rooms {
		if msg := m.waitPost(t, room, "Keep our servers running").Content.AsMessage(); !strings.Contains(msg.Body, "Raised: "+first) {
			t.Errorf("room %s reads %q", room, msg.Body)
		}
	}
	// Featured while it runs: the collection Mastodon shows on the profile.
	if _, featured := page(t, c.URL+"/boards/news/featured", "application/activity+json"); !strings.Contains(featured, c.objectURL(a.ID)) {
		t.Errorf("the running campaign is not in the featured collection: %s", featured)
	}

	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d/raised", a.ID)
	start := time.Now()
	for i := range 50 {
		if code := c.api("PUT", path, map[string]any{"raised": 1250 + 10*i}, nil, nil); code != 200 {
			t.Fatalf("raised: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	const last = "1,740\u00a0€ of 3,000\u00a0€ (58 %)"
	if _, page := page(t, c.objectURL(a.ID), "text/html"); !strings.Contains(page, "1,740") {
		t.Error("the page does not show the last total at once")
	}
	var updates []peerActivity
	waitFor(t, 20*time.Second, "an Update with the last total", func() bool {
		updates = p.state().received("Update", c.objectURL(a.ID))
		if len(updates) == 0 {
			return false
		}
		content, _ := updates[len(updates)-1].object()["content"].(string)
		return strings.Contains(content, last)
	})
	took := time.Since(start)
	t.Logf("50 gifts in %v gave %d Updates", took.Round(time.Millisecond), len(updates))
	// Mastodon takes an Update's text only with an updated newer than the
	// post's last (ProcessStatusUpdateService): each total must say so.
	prev := create.object()["published"].(string)
	for _, u := range updates {
		updated, _ := u.object()["updated"].(string)
		if updated <= prev { // RFC 3339 in UTC with milliseconds: ordered as text
			t.Errorf("a new total's Update has updated %q, not after %q: Mastodon keeps the old total", updated, prev)
		}
		prev = updated
	}
	// One Update per 3 s at most while the gifts come (the last may come
	// a gap after them), however long a loaded machine takes to send them.
	most := int(took/(3*time.Second)) + 2
	if len(updates) > most {
		t.Errorf("50 gifts in %v gave %d Updates; want at most one per 3 s (%d)", took.Round(time.Millisecond), len(updates), most)
	}
	for _, room := range m.rooms {
		waitFor(t, 20*time.Second, "the room's edit with the last total", func() bool {
			edits := 0
			found := false
			for _, evt := range m.botMessages(t, room) {
				if msg := evt.Content.AsMessage(); msg.RelatesTo != nil && msg.RelatesTo.Type == event.RelReplace {
					edits++
					found = found || strings.Contains(msg.NewContent.Body, last)
				}
			}
			if found && edits > most {
				t.Errorf("room %s got %d edits for 50 gifts in %v (at most %d)", room, edits, took.Round(time.Millisecond), most)
			}
			return found
		})
	}
	// The goal reached: it ends, as an edit followers' servers apply (a
	// newer updated), saying "Ended" and no longer asking to give.
	if code := c.api("PUT", path, map[string]any{"raised": 3000}, nil, nil); code != 200 {
		t.Fatalf("raised: %d", code)
	}
	waitFor(t, 20*time.Second, "an Update saying it ended", func() bool {
		for _, u := range p.state().received("Update", c.objectURL(a.ID)) {
			content, _ := u.object()["content"].(string)
			if strings.Contains(content, "Ended:") {
				if strings.Contains(content, "Give:") || u.object()["updated"] == nil {
					t.Errorf("the ended campaign's Update reads %q (updated %v)", content, u.object()["updated"])
				}
				return true
			}
		}
		return false
	})
	for _, room := range m.rooms {
		waitFor(t, 20*time.Second, "the room's edit saying it ended", func() bool {
			for _, evt := range m.botMessages(t, room) {
				if msg := evt.Content.AsMessage(); msg.NewContent != nil && strings.Contains(msg.NewContent.Body, "Ended:") {
					if strings.Contains(msg.NewContent.Body, "Give:") {
						t.Errorf("room %s: the ended campaign still asks to give: %q", room, msg.NewContent.Body)
					}
					return true
				}
			}
			return false
		})
	}
}

// Featured while it runs, no longer once its deadline passed, though the
// server was down at that moment.
func TestCampaignUnpinnedAfterItsDeadlineAcrossARestart(t *testing.T) {
	t.Parallel() // mostly waiting for a time to come: it overlaps with the other waiting tests
	data := t.TempDir()
	c := startCrieur(t, data, 0)
	deadline := time.Now().Add(3 * time.Second)
	a, code := c.post(map[string]any{"kind": "campaign", "title": "Winter fund",
		"campaign": map[string]any{"goal": 500, "link": "https://www.helloasso.com/associations/asso", "deadline": deadline.Format(time.RFC3339), "thank_you": "Thanks to all 12 of you!"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	featured := func() string {
		_, f := page(t, c.URL+"/boards/news/featured", "application/activity+json")
		return f
	}
	if !strings.Contains(featured(), c.objectURL(a.ID)) {
		t.Fatal("the campaign is not featured while it runs")
	}
	token := c.Token
	c.Kill()
	time.Sleep(time.Until(deadline) + time.Second)
	c = startCrieur(t, data, c.Port)
	c.Token = token
	waitFor(t, 10*time.Second, "the campaign to leave the featured collection", func() bool { return !strings.Contains(featured(), c.objectURL(a.ID)) })
	_, board := page(t, c.URL+"/boards/news", "")
	if !strings.Contains(board, "Winter fund") || strings.Count(board, "Thank you: Winter fund") != 1 {
		t.Error("after its deadline the board should show the campaign and its thank-you, once")
	}
	if _, own := page(t, c.objectURL(a.ID), "text/html"); !strings.Contains(own, "<dt>Ended</dt>") || !strings.Contains(own, `state-ended">ended`) || strings.Contains(own, "<dt>Give</dt>") {
		t.Errorf("the ended campaign's page does not say it ended, or still asks to give:\n%s", own)
	}
}

// liberapayServer answers GET /NAME/public.json as Liberapay does
// (Participant.to_dict(details=True) in liberapay/models/participant.py,
// Money encoded as {"amount": "1.00", "currency": "EUR"} by
// liberapay/main.py): receiving and goal are weekly amounts, receiving is
// null when the owner hides it, goal null when the account has none; an
// unknown account is a 404.
type liberapayServer struct {
	*httptest.Server
	mu       sync.Mutex
	accounts map[string]string // name -> the JSON document's varying part
}

func newLiberapay(t *testing.T) *liberapayServer {
	l := &liberapayServer{accounts: map[string]string{}}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/public.json")
		l.mu.Lock()
		doc, known := l.accounts[name]
		l.mu.Unlock()
		if r.Method != http.MethodGet || !ok || !known {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprintf(w, `{"id": 1234, "username": %q, "avatar": null, "kind": "organization", %s, "giving": null, "elsewhere": {}}`, name, doc)
	}))
	t.Cleanup(l.Close)
	return l
}

// set gives an account's figures: receiving and goal are JSON (null, or
// a money object).
func (l *liberapayServer) set(name string, npatrons int, receiving, goal string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts[name] = fmt.Sprintf(`"npatrons": %d, "receiving": %s, "goal": %s`, npatrons, receiving, goal)
}

func eur(amount string) string { return `{"amount": "` + amount + `", "currency": "EUR"}` }

// Issue 24, point 11: a campaign that follows a Liberapay account shows
// recurring income ("1,500 € per week by 12 patrons") against the
// account's own weekly goal, within one polling interval; reaching it does
// not end the campaign; an account that hides what it receives, counts in
// another currency or does not exist changes nothing and is said to the
// editor (the campaign's page, in red) and by crieur check.
func TestCampaignReadsLiberapay(t *testing.T) {
	t.Parallel()
	lp := newLiberapay(t)
	lp.set("asso", 12, eur("1500.00"), eur("3000.00"))
	lp.set("hidden", 4, "null", "null")
	lp.set("dollars", 3, `{"amount": "80.00", "currency": "USD"}`, "null")
	data := t.TempDir()
	c := startCrieur(t, data, 0, "CRIEUR_LIBERAPAY_URL="+lp.URL, "CRIEUR_LIBERAPAY_EVERY=1s")
	post := func(title, account string) int64 {
		a, code := c.post(map[string]any{"kind": "campaign", "title": title,
			"campaign": map[string]any{"goal": 5000, "link": lp.URL + "/" + account + "/donate", "milestones": []int{100}, "thank_you": "Thanks!"}}, nil)
		if code != 201 {
			t.Fatalf("post %s: %d", title, code)
		}
		return a.ID
	}
	id := post("Keep our servers running", "asso")
	type campaign struct {
		Raised, Goal float64
		Per          string
		Patrons      int
		Ended        *time.Time
		Problem      *struct{ Key string } `json:"source_problem"`
	}
	read := func(id int64) campaign {
		var got struct{ Campaign campaign }
		c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d", id), nil, nil, &got)
		return got.Campaign
	}
	waitFor(t, 5*time.Second, "the Liberapay income", func() bool { return read(id).Raised == 1500 })
	if got := read(id); got.Per != "week" || got.Goal != 3000 || got.Patrons != 12 {
		t.Errorf("read from Liberapay: %+v", got)
	}
	_, html := page(t, c.objectURL(id), "text/html")
	if !strings.Contains(html, "1,500\u00a0€ per week by 12 patrons") || !strings.Contains(html, "3,000\u00a0€ per week (50 % reached)") || strings.Contains(html, "Raised") {
		t.Errorf("the page does not show a weekly income against a weekly goal:\n%s", html)
	}
	// Pledges going down show as they are; within one polling interval.
	lp.set("asso", 11, eur("1412.50"), eur("3000.00"))
	changed := time.Now()
	waitFor(t, 5*time.Second, "the lower income", func() bool { return read(id).Raised == 1412.5 })
	if took := time.Since(changed); took > 2*time.Second {
		t.Errorf("the new income took %v, more than one polling interval (1 s) and a bit", took)
	}
	// The weekly goal reached: thanks for the milestone, the campaign runs on.
	lp.set("asso", 30, eur("3000.00"), eur("3000.00"))
	waitFor(t, 5*time.Second, "the goal reached", func() bool { return read(id).Raised == 3000 })
	if got := read(id); got.Ended != nil {
		t.Errorf("recurring income reaching its goal ended the campaign: %+v", got)
	}
	// The milestone's post follows the total (the same poll, just after).
	var board string
	waitFor(t, 5*time.Second, "the goal-reached post", func() bool {
		_, board = page(t, c.URL+"/boards/news", "text/html")
		return strings.Contains(board, "Goal reached for")
	})
	if strings.Contains(board, "Thank you: Keep our servers running") || read(id).Ended != nil {
		t.Error("the goal reached should be thanked as a milestone, without ending the campaign")
	}
	// Accounts Crieur cannot follow: said, nothing changed.
	hidden, dollars, missing := post("Hidden", "hidden"), post("Dollars", "dollars"), post("Missing", "nobody")
	for _, id := range []int64{hidden, dollars, missing} {
		waitFor(t, 5*time.Second, "the problem recorded", func() bool { return read(id).Problem != nil })
		if got := read(id); got.Raised != 0 || got.Patrons != 0 {
			t.Errorf("campaign %d changed though its account cannot be followed: %+v", id, got)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	body := func(resp *http.Response, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw)
	}
	body(browser.PostForm(c.URL+"/edit/login", url.Values{"token": {c.Token}}))
	for id, want := range map[int64]string{
		hidden:  "Liberapay hides what the account hidden receives",
		dollars: "The Liberapay account dollars receives in USD, but this campaign counts in EUR",
		missing: "Liberapay has no account nobody",
	} {
		if html := body(browser.Get(fmt.Sprintf("%s/edit/news/%d", c.URL, id))); !strings.Contains(html, `class="refused" role="status">`+htmlEscape(want)) {
			t.Errorf("the editor's page of campaign %d does not say %q", id, want)
		}
	}
	out, err := runCLI("", nil, "check", "--data", data, "--listen", "127.0.0.1:1")
	for _, want := range []string{"Liberapay hides what the account hidden receives", "receives in USD", "Liberapay has no account nobody", "1 recurring campaign read without a problem"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("crieur check does not say %q:\n%s", want, out)
		}
	}
	// Shown again: the problem goes once the account can be read.
	lp.set("hidden", 4, eur("20.00"), "null")
	waitFor(t, 5*time.Second, "the hidden account shown", func() bool { got := read(hidden); return got.Problem == nil && got.Raised == 20 })
}

func htmlEscape(s string) string { return template.HTMLEscapeString(s) }
