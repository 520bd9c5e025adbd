package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// mattermostServer follows Mattermost's incoming-webhook contract as
// its server answers (HandleIncomingWebhook and CreateWebhookPost in
// server/channels/app/webhook.go, the handler in
// server/channels/web/webhook.go): POST /hooks/{26 characters} with a
// JSON body; 200 "ok" (text/plain); a JSON AppError (id, message,
// status_code): 501 when the server has incoming webhooks turned off, 400
// for a payload it cannot parse or without text, 400 "Invalid webhook"
// for an unknown hook, 404 for a channel override it cannot find; 429
// with Retry-After (and X-Ratelimit-*) when its rate limiter refuses. A
// text longer than a post (PostMessageMaxRunesV2, 16,383 characters) is
// split as splitWebhookPost does: every 16,383 characters, wherever that
// falls.
type mattermostServer struct {
	*httptest.Server
	mu       sync.Mutex
	hooks    map[string]bool // known hook ids
	posts    map[string][]map[string]string
	limited  int  // the next n requests get a 429
	failAt   int  // the request with text of this number (requests+1) gets a 500, once
	disabled bool // incoming webhooks turned off
	channels map[string]bool
	requests int // texts received (before any split)
}

const mattermostMaxRunes = 16_383

var (
	hookPath    = regexp.MustCompile(`^/hooks/([a-z0-9]{26})$`)
	slackUserID = regexp.MustCompile(`<@([a-zA-Z0-9]+)>`)
)

func startMattermost(t *testing.T) *mattermostServer {
	t.Helper()
	m := &mattermostServer{hooks: map[string]bool{}, posts: map[string][]map[string]string{}, channels: map[string]bool{"town-square": true, "outages": true}}
	appErr := func(w http.ResponseWriter, status int, id, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "message": msg, "detailed_error": "", "request_id": "r1", "status_code": status})
	}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := hookPath.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodPost || sub == nil {
			http.NotFound(w, r)
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.limited > 0 {
			m.limited--
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-Ratelimit-Limit", "10")
			w.Header().Set("X-Ratelimit-Remaining", "0")
			w.Header().Set("X-Ratelimit-Reset", "1")
			http.Error(w, "limit exceeded", http.StatusTooManyRequests)
			return
		}
		if m.disabled {
			appErr(w, http.StatusNotImplemented, "web.incoming_webhook.disabled.app_error", "Incoming webhooks have been disabled by the system admin.")
			return
		}
		var p map[string]string
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &p) != nil {
			appErr(w, http.StatusBadRequest, "web.incoming_webhook.parse.app_error", "Unable to parse incoming data.")
			return
		}
		if p["text"] == "" {
			appErr(w, http.StatusBadRequest, "web.incoming_webhook.text.app_error", "No text specified.")
			return
		}
		if !m.hooks[sub[1]] {
			appErr(w, http.StatusBadRequest, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
			return
		}
		if ch := p["channel"]; ch != "" && !m.channels[ch] {
			appErr(w, http.StatusNotFound, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.")
			return
		}
		if m.failAt > 0 && m.requests+1 == m.failAt {
			m.failAt = 0
			appErr(w, http.StatusInternalServerError, "api.post.create_webhook_post.creating.app_error", "Unable to create post.")
			return
		}
		m.requests++
		// What the channel shows: ProcessSlackText
		// (server/channels/app/slack.go) expands Slack's announcement
		// forms and <@id> mentions in the text before posting.
		text := strings.NewReplacer("<!channel>", "@channel", "<!here>", "@here", "<!all>", "@all").Replace(p["text"])
		text = slackUserID.ReplaceAllString(text, "@$1")
		for {
			post := maps.Clone(p)
			runes := []rune(text)
			post["text"] = string(runes[:min(len(runes), mattermostMaxRunes)])
			m.posts[sub[1]] = append(m.posts[sub[1]], post)
			if len(runes) <= mattermostMaxRunes {
				break
			}
			text = string(runes[mattermostMaxRunes:])
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	}))
	t.Cleanup(m.Close)
	return m
}

// hook makes a new hook and returns its secret URL.
func (m *mattermostServer) hook(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks[id] = true
	return m.URL + "/hooks/" + id
}

func (m *mattermostServer) received(id string) []map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]string(nil), m.posts[id]...)
}

func TestMattermostWebhooks(t *testing.T) {
	t.Parallel()
	mm := startMattermost(t)
	const members, tech, typo = "a1b2c3d4e5f6g7h8i9j0k1l2m3", "zyxwvutsrqponmlkjihgfedcba", "qqqqqqqqqqqqqqqqqqqqqqqqqq"
	c := startCrieur(t, t.TempDir(), 0)
	var view map[string]any
	body := map[string]any{"hooks": []map[string]any{
		{"name": "members", "url": mm.hook(members), "username": "Crieur"},
		{"name": "tech", "url": mm.hook(tech), "channel": "outages"},
		{"name": "wrong-channel", "url": mm.hook(typo), "channel": "no-such-channel"},
	}}
	if code := c.api("PUT", "/api/v1/boards/news/mattermost", body, nil, &view); code != 200 {
		t.Fatalf("PUT mattermost: %d %v", code, view)
	}
	if code := c.api("PUT", "/api/v1/boards/news/mattermost", map[string]any{"hooks": []map[string]any{{"name": "x y", "url": "ftp://a"}}}, nil, &view); code != 400 {
		t.Errorf("a bad set-up: %d", code)
	}
	var test map[string]any
	if code := c.api("POST", "/api/v1/boards/news/mattermost/test", map[string]any{"hook": "members"}, nil, &test); code != 200 || test["sent"] != true {
		t.Errorf("test message: %d %v", code, test)
	}
	if code := c.api("POST", "/api/v1/boards/news/mattermost/test", map[string]any{"hook": "wrong-channel"}, nil, &test); code != 502 || !strings.Contains(fmt.Sprint(test["error"]), "Couldn't find the channel") {
		t.Errorf("test message to a wrong channel: %d %v, want the server's exact words", code, test)
	}

	// A new announcement, through a rate limit: one post per hook.
	mm.mu.Lock()
	mm.limited = 1
	mm.mu.Unlock()
	a, code := c.post(map[string]any{"kind": "outage", "title": "Mail down", "body": "We are on it, @channel. <!here> <!all> <@U123>",
		"outage": map[string]any{"service": "mail", "from": time.Now().Format(time.RFC3339)}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 15*time.Second, "the posts in both channels", func() bool {
		return len(mm.received(members)) == 2 && len(mm.received(tech)) == 1 // members also got the test message
	})
	post := mm.received(tech)[0]
	if !strings.Contains(post["text"], "#### Service outage: Mail down") || !strings.Contains(post["text"], "**Service:** mail") ||
		!strings.Contains(post["text"], c.objectURL(a.ID)) || regexp.MustCompile(`@(channel|here|all|U123)`).MatchString(post["text"]) || post["channel"] != "outages" {
		t.Errorf("the channel shows %+v", post)
	}
	if mm.received(members)[1]["username"] != "Crieur" {
		t.Errorf("username override lost: %+v", mm.received(members)[1])
	}
	c.waitQueueIdle()
	d := c.deliveries(a.ID)
	var dead string
	for _, x := range d.Deliveries {
		if x.Target == "mattermost:wrong-channel" && x.State == "dead" {
			dead = x.LastError
		}
	}
	if !strings.Contains(dead, "Couldn't find the channel") {
		t.Errorf("the wrong channel's delivery: %+v", d.Deliveries)
	}

	// An edit: nothing, unless a follow-up is asked for; a deletion: nothing.
	path := fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID)
	c.api("PATCH", path, map[string]any{"body": "Still on it."}, nil, nil)
	c.waitQueueIdle()
	if n := len(mm.received(tech)); n != 1 {
		t.Errorf("an edit without follow-up posted %d more", n-1)
	}
	c.api("PATCH", path, map[string]any{"title": "Mail down until 18:00", "follow_up": true}, nil, nil)
	waitFor(t, 10*time.Second, "the follow-up", func() bool { return len(mm.received(tech)) == 2 })
	if up := mm.received(tech)[1]["text"]; !strings.HasPrefix(up, "**Updated: Mail down until 18:00**") {
		t.Errorf("follow-up: %q", up)
	}
	// Issue 24, point 9: a follow-up says what changed; resolving says so
	// to the channels that were warned.
	until := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	c.api("PATCH", path, map[string]any{"outage": map[string]any{"service": "mail", "from": time.Now().Add(-time.Hour).Format(time.RFC3339), "until": until.Format(time.RFC3339)}, "follow_up": true}, nil, nil)
	waitFor(t, 10*time.Second, "the follow-up with the new end", func() bool { return len(mm.received(tech)) == 3 })
	if up := mm.received(tech)[2]["text"]; !strings.Contains(up, "- **New end:** ") {
		t.Errorf("a new end's follow-up: %q", up)
	}
	if code := c.api("PUT", path+"/resolved", nil, nil, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	waitFor(t, 10*time.Second, "the follow-up saying it is resolved", func() bool { return len(mm.received(tech)) == 4 })
	if up := mm.received(tech)[3]["text"]; !strings.HasPrefix(up, "**Resolved: Mail down until 18:00**") || !strings.Contains(up, "- **Resolved:** ") {
		t.Errorf("the resolution's follow-up: %q", up)
	}
	c.api("DELETE", path, nil, nil, nil)
	c.waitQueueIdle()
	if n := len(mm.received(tech)); n != 4 {
		t.Errorf("a deletion posted to the channel")
	}

	// The CLI: a hook's URL from standard input, listed as set, tested,
	// removed.
	const extra = "extraextraextraextraextra1"
	cli := c.cli
	if out, err := cli(mm.hook(extra)+"\n", "mattermost", "set", "extra", "--url", "-", "--channel", "town-square"); err != nil || !strings.Contains(out, "saved hook extra") {
		t.Fatalf("mattermost set: %v\n%s", err, out)
	}
	if out, err := cli("", "mattermost", "list"); err != nil || !regexp.MustCompile(`extra\s+town-square\s+-\s+set`).MatchString(out) || strings.Contains(out, extra) {
		t.Errorf("mattermost list: %v\n%s", err, out)
	}
	if out, err := cli("", "mattermost", "test", "extra"); err != nil || !strings.Contains(out, "test message sent to extra") || len(mm.received(extra)) != 1 {
		t.Errorf("mattermost test: %v\n%s", err, out)
	}
	if out, err := cli("", "mattermost", "test", "wrong-channel"); err == nil || !strings.Contains(out, "Couldn't find the channel") {
		t.Errorf("mattermost test of a wrong channel: %v\n%s", err, out)
	}
	if out, err := cli("", "mattermost", "remove", "extra"); err != nil || !strings.Contains(out, "removed hook extra") {
		t.Errorf("mattermost remove: %v\n%s", err, out)
	}

	// The hook URLs are secrets: never in answers, deliveries or logs.
	var got map[string]any
	c.api("GET", "/api/v1/boards/news/mattermost", nil, nil, &got)
	raw, _ := json.Marshal(got)
	dl, _ := json.Marshal(c.deliveries(a.ID))
	for _, secret := range []string{members, tech, typo} {
		for where, text := range map[string]string{"GET mattermost": string(raw), "deliveries": string(dl), "test answer": fmt.Sprint(test), "log": c.stderr.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the hook's secret appears in the %s", where)
			}
		}
	}
	if !strings.Contains(string(raw), `"url_set":true`) {
		t.Errorf("GET mattermost: %s", raw)
	}
}

// Issue 24, point 7, against the contract above: a 2,500-character text of
// "é" arrives whole; 19,132 characters arrive as two posts that Crieur cut
// at a paragraph (the server had nothing to split), in order, each once
// though the second failed once; an unknown hook and a server with
// webhooks turned off are said in the server's words.
func TestMattermostLongTextsArriveWhole(t *testing.T) {
	t.Parallel()
	mm := startMattermost(t)
	const members, gone = "a1b2c3d4e5f6g7h8i9j0k1l2m3", "gonegonegonegonegonegone26"
	c := startCrieur(t, t.TempDir(), 0)
	body := map[string]any{"hooks": []map[string]any{{"name": "members", "url": mm.hook(members)}, {"name": "gone", "url": mm.URL + "/hooks/" + gone}}}
	if code := c.api("PUT", "/api/v1/boards/news/mattermost", body, nil, nil); code != 200 {
		t.Fatalf("PUT mattermost: %d", code)
	}
	accents := strings.Repeat("é", 2500)
	a, code := c.post(map[string]any{"kind": "news", "title": "Accents", "body": accents}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 10*time.Second, "the accents", func() bool { return len(mm.received(members)) == 1 })
	if got := mm.received(members)[0]["text"]; !strings.Contains(got, accents) || !strings.Contains(got, c.objectURL(a.ID)) {
		t.Errorf("2,500 é arrive as %d characters", len([]rune(got)))
	}
	c.waitQueueIdle()
	var unknown string
	for _, x := range c.deliveries(a.ID).Deliveries {
		if x.Target == "mattermost:gone" {
			unknown = x.State + ": " + x.LastError
		}
	}
	if !strings.HasPrefix(unknown, "dead") || !strings.Contains(unknown, "Invalid webhook") {
		t.Errorf("an unknown hook's delivery: %q", unknown)
	}

	var paras []string
	for i := 0; len([]rune(strings.Join(paras, "\n\n"))) < 19_132; i++ {
		paras = append(paras, fmt.Sprintf("Paragraphe %d : %s", i, strings.Repeat("mot é ", 50)))
	}
	long := strings.Join(paras, "\n\n")
	mm.mu.Lock()
	mm.failAt, mm.requests = 2, 0 // the second post fails once, after the first went
	mm.mu.Unlock()
	// The first post goes, the second fails once, then both are there once.
	b, code := c.post(map[string]any{"kind": "news", "title": "Long", "body": long}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 30*time.Second, "the long text's posts", func() bool { return len(mm.received(members)) >= 3 })
	c.waitQueueIdle()
	posts := mm.received(members)[1:]
	mm.mu.Lock()
	requests := mm.requests
	mm.mu.Unlock()
	if len(posts) != 2 || requests != 2 {
		t.Fatalf("19,132 characters: %d posts from %d requests, want 2 from 2 (Crieur's own cuts, each once)", len(posts), requests)
	}
	if !strings.HasSuffix(posts[0]["text"], "(1/2)") || !strings.HasSuffix(posts[1]["text"], "(2/2)") || !strings.Contains(posts[1]["text"], c.objectURL(b.ID)) {
		t.Errorf("the posts are not marked in order")
	}
	joined := posts[0]["text"] + posts[1]["text"]
	for _, p := range paras {
		if !strings.Contains(joined, strings.TrimSpace(p)) {
			t.Fatalf("a paragraph is cut or lost: %.40q", p)
		}
	}

	// Webhooks turned off on the server: retried, and said.
	mm.mu.Lock()
	mm.disabled = true
	mm.mu.Unlock()
	d, code := c.post(map[string]any{"kind": "news", "title": "Off", "body": "Hello."}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	waitFor(t, 10*time.Second, "the refusal recorded", func() bool {
		for _, x := range c.deliveries(d.ID).Deliveries {
			if x.Target == "mattermost:members" && strings.Contains(x.LastError, "incoming webhooks are turned off") {
				return x.State != "dead"
			}
		}
		return false
	})
}
