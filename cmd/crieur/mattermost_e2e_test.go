package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// mattermostServer follows Mattermost's incoming-webhook contract as
// documented (developers.mattermost.com/integrate/webhooks/incoming) and
// as its server answers (server/channels/web/webhook.go, since v8): POST
// /hooks/{26 characters} with a JSON body; 200 "ok" (text/plain); a
// JSON AppError (id, message, status_code) with 400 for a payload without
// text or a channel the hook may not post to, 404 for an unknown hook; 429
// with Retry-After (and X-Ratelimit-*) when its rate limiter refuses.
type mattermostServer struct {
	*httptest.Server
	mu       sync.Mutex
	hooks    map[string]bool // known hook ids
	posts    map[string][]map[string]string
	limited  int // the next n requests get a 429
	channels map[string]bool
}

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
		if !m.hooks[sub[1]] {
			appErr(w, http.StatusNotFound, "app.webhooks.get_incoming.app_error", "Unable to find the webhook.")
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
		if ch := p["channel"]; ch != "" && !m.channels[ch] {
			appErr(w, http.StatusBadRequest, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.")
			return
		}
		// What the channel shows: ProcessSlackText
		// (server/channels/app/slack.go) expands Slack's announcement
		// forms and <@id> mentions in the text before posting.
		p["text"] = strings.NewReplacer("<!channel>", "@channel", "<!here>", "@here", "<!all>", "@all").Replace(p["text"])
		p["text"] = slackUserID.ReplaceAllString(p["text"], "@$1")
		m.posts[sub[1]] = append(m.posts[sub[1]], p)
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
	c.api("DELETE", path, nil, nil, nil)
	c.waitQueueIdle()
	if n := len(mm.received(tech)); n != 2 {
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
