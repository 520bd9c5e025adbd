package main

// Acceptance tests of ActivityPub publishing, against a real Fedify peer.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"crieur/federation/delivery/redistest"
)

type announcement struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	Version int    `json:"version"`
}

type deliveries struct {
	Counts        map[string]int            `json:"counts"`
	ByDestination map[string]map[string]int `json:"by_destination"`
	Deliveries    []struct {
		Verb          string     `json:"verb"`
		Target        string     `json:"target"`
		State         string     `json:"state"`
		Attempts      int        `json:"attempts"`
		LastError     string     `json:"last_error"`
		UpdatedAt     time.Time  `json:"updated_at"`
		NextAttemptAt *time.Time `json:"next_attempt_at"`
	} `json:"deliveries"`
}

func (c *crieurProc) post(body map[string]any, headers map[string]string) (announcement, int) {
	c.t.Helper()
	var a announcement
	code := c.api("POST", "/api/v1/boards/news/announcements", body, headers, &a)
	return a, code
}

func (c *crieurProc) objectURL(id int64) string {
	return fmt.Sprintf("%s/boards/news/a/%d", c.URL, id)
}

func (c *crieurProc) deliveries(id int64) deliveries {
	c.t.Helper()
	var d deliveries
	if code := c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/deliveries", id), nil, nil, &d); code != 200 {
		c.t.Fatalf("deliveries of %d: status %d", id, code)
	}
	return d
}

// Acceptance 1: a Fedify peer looks the board up, follows, gets the Accept,
// then gets Create, Update and Delete, verifying every signature and Digest.
func TestFedifyFollowsAndReceivesCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	p.follow(c)

	var followers []map[string]any
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 1 || followers[0]["actor"] != p.URL+"/users/alice" {
		t.Fatalf("followers = %v, want alice of the peer", followers)
	}

	a, code := c.post(map[string]any{
		"kind": "event", "title": "Install party", "body": "Bring a **laptop**. #Réparation #Lyon2026, not #2026.", "tags": []string{"libre"},
		"event": map[string]any{"start": "2026-12-05T14:00:00+01:00", "end": "2026-12-05T18:00:00+01:00", "place": "Salle des fêtes"},
	}, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	obj := c.objectURL(a.ID)
	create := p.waitActivity("Create", obj)
	note := create.object()
	content, _ := note["content"].(string)
	if !create.Verified || create.Actor != c.URL+"/boards/news" || note["type"] != "Note" ||
		!strings.Contains(content, "Install party") || !strings.Contains(content, "<strong>laptop</strong>") || !strings.Contains(content, "Salle des fêtes") {
		t.Fatalf("Create as received: %+v, object %v", create, note)
	}
	if note["startTime"] == nil {
		t.Errorf("event Note has no startTime: %v", note)
	}
	// Hashtags typed in the text are hashtags for a JSON-LD reader too
	// (issue 26), as typed, each linking to the board's tag page; #2026
	// is none (Mastodon's and GoToSocial's rules need a letter).
	var hashtags []string
	for _, h := range create.Hashtags {
		hashtags = append(hashtags, h.Name)
		if h.Href != c.URL+"/boards/news?tag="+url.QueryEscape(strings.TrimPrefix(h.Name, "#")) {
			t.Errorf("hashtag %s links to %s", h.Name, h.Href)
		}
	}
	if want := []string{"#Réparation", "#Lyon2026", "#libre"}; !slices.Equal(hashtags, want) {
		t.Errorf("Fedify read the hashtags %v, want %v", hashtags, want)
	}
	if create.Language != "" {
		t.Errorf("a post without language arrived as %q", create.Language)
	}
	// A post in French arrives with its text and its language (contentMap
	// beside a string content, not an array).
	// Its labels and its date are French too, the time typed in UTC shown
	// in the board's zone (UTC here) and named.
	fr, _ := c.post(map[string]any{"kind": "event", "title": "Réunion mensuelle", "body": "On se retrouve à 19 h.", "language": "fr",
		"event": map[string]any{"start": "2026-12-18T18:00:00Z", "place": "Le local"}}, nil)
	frCreate := p.waitActivity("Create", c.objectURL(fr.ID))
	frContent, _ := frCreate.object()["content"].(string)
	if frCreate.Language != "fr" || !strings.Contains(frContent, "On se retrouve") {
		t.Errorf("French post arrived with language %q and content %v", frCreate.Language, frCreate.object()["content"])
	}
	for _, want := range []string{"Quand\u202f: ven. 18 déc. 2026, 18:00 (UTC)", "Où\u202f: Le local"} {
		if !strings.Contains(frContent, want) {
			t.Errorf("the French post lacks %q: %s", want, frContent)
		}
	}

	var edited announcement
	if code := c.api("PATCH", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), map[string]any{"title": "Install party (moved to Sunday)"}, nil, &edited); code != 200 || edited.Version != 2 {
		t.Fatalf("edit: status %d, %+v", code, edited)
	}
	un := p.waitActivity("Update", obj).object()
	if un["updated"] == nil || !strings.Contains(un["content"].(string), "moved to Sunday") {
		t.Fatalf("Update object lacks updated or the new title: %v", un)
	}

	if code := c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID), nil, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: status %d", code)
	}
	p.waitActivity("Delete", obj)

	for _, accept := range []string{"application/activity+json", "text/html"} {
		req, _ := http.NewRequest("GET", obj, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone {
			t.Errorf("GET %s as %s after delete: %d, want 410", obj, accept, resp.StatusCode)
		}
	}
	if st := p.state(); len(st.Rejected) != 0 {
		t.Errorf("the peer refused signatures from crieur: %v", st.Rejected)
	}
	c.waitQueueIdle()
	d := c.deliveries(a.ID)
	if d.Counts["delivered"] != 3 || d.Counts["pending"]+d.Counts["dead"] != 0 {
		t.Errorf("deliveries = %+v, want create, update and delete delivered", d)
	}
}

// Acceptance 2: bad inbox POSTs are refused and leave nothing behind. The
// same request signed properly is accepted, so the refusals are the checks'
// doing, not a broken inbox.
func TestInboxRefusesBadRequests(t *testing.T) {
	t.Parallel() // waits more than it computes
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	inbox := c.URL + "/boards/news/inbox"
	follow := func(n int) map[string]any {
		return map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       fmt.Sprintf("%s/follows/raw-%d", p.URL, n),
			"type":     "Follow", "actor": p.URL + "/users/alice", "object": c.URL + "/boards/news",
		}
	}
	for i, mode := range []string{"unsigned", "wrongkey", "stale", "tampered"} {
		out := p.call("/_test/send", map[string]any{"url": inbox, "activity": follow(i), "mode": mode})
		if out["status"] != float64(401) {
			t.Errorf("%s POST: status %v, want 401", mode, out["status"])
		}
	}
	// Signed by alice but claiming to be someone else.
	impostor := follow(10)
	impostor["actor"] = p.URL + "/users/bob"
	if out := p.call("/_test/send", map[string]any{"url": inbox, "activity": impostor, "mode": "ok"}); out["status"] != float64(401) {
		t.Errorf("actor not the key owner: status %v, want 401", out["status"])
	}
	big := bytes.Repeat([]byte("x"), 2<<20)
	resp, err := http.Post(inbox, "application/activity+json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize POST: status %d, want 413", resp.StatusCode)
	}
	resp, err = http.Post(inbox, "text/plain", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain POST: status %d, want 415", resp.StatusCode)
	}

	var followers []map[string]any
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 0 {
		t.Fatalf("refused requests stored followers: %v", followers)
	}
	var st map[string]int
	c.api("GET", "/api/v1/queue", nil, nil, &st)
	if st["ready"]+st["done"]+st["dead"] != 0 {
		t.Fatalf("refused requests queued work: %v", st)
	}

	if out := p.call("/_test/send", map[string]any{"url": inbox, "activity": follow(20), "mode": "ok"}); out["status"] != float64(202) {
		t.Fatalf("well-signed Follow: status %v, want 202 (%v)", out["status"], out["body"])
	}
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 1 {
		t.Fatalf("well-signed Follow not stored: %v", followers)
	}
}

// Acceptance 3: one Idempotency-Key, one announcement, one Create.
func TestIdempotencyKeyPostsOnce(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	p.follow(c)
	body := map[string]any{"title": "General assembly", "body": "Thursday 19:00."}
	key := map[string]string{"Idempotency-Key": "assembly-2026-12"}
	first, code1 := c.post(body, key)
	second, code2 := c.post(body, key)
	if code1 != http.StatusCreated || code2 != http.StatusOK || first.ID != second.ID {
		t.Fatalf("same key twice: %d id %d, then %d id %d; want 201 then 200 with one id", code1, first.ID, code2, second.ID)
	}
	if _, code := c.post(map[string]any{"title": "Something else"}, key); code != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other request: status %d, want 422", code)
	}
	c.waitQueueIdle()
	var list []announcement
	c.api("GET", "/api/v1/boards/news/announcements", nil, nil, &list)
	if len(list) != 1 {
		t.Fatalf("announcements = %+v, want exactly one", list)
	}
	st := p.state()
	creates := st.received("Create", c.objectURL(first.ID))
	if len(creates) != 1 || st.Attempts[creates[0].ID] != 1 {
		t.Fatalf("peer got %d Creates in %d POSTs, want 1 in 1", len(creates), st.Attempts[c.objectURL(first.ID)+"/activity/create"])
	}
}

// Acceptance 4: an inbox failing twice gets the activity once after the
// failures; one answering 410 is given up at once; the API shows both.
func TestDeliveryRetriesThenGivesUp(t *testing.T) {
	t.Parallel() // waits more than it computes
	c := startCrieur(t, t.TempDir(), 0)
	flaky, gone := startPeer(t), startPeer(t)
	flaky.follow(c)
	gone.follow(c)
	flaky.call("/_test/mode", map[string]any{"fail": 2})
	gone.call("/_test/mode", map[string]any{"gone": true})

	a, _ := c.post(map[string]any{"title": "Server move on Saturday", "kind": "outage",
		"outage": map[string]any{"service": "cloud", "from": "2026-12-05T08:00:00Z"}}, nil)
	c.waitQueueIdle()
	createID := c.objectURL(a.ID) + "/activity/create"

	fs := flaky.state()
	if n := len(fs.received("Create", c.objectURL(a.ID))); n != 1 || fs.Attempts[createID] != 3 {
		t.Fatalf("flaky inbox: %d Creates accepted after %d POSTs, want 1 after 3", n, fs.Attempts[createID])
	}
	// Wait past several retry intervals: a dead delivery must stay dead.
	time.Sleep(600 * time.Millisecond)
	if gs := gone.state(); gs.Attempts[createID] != 1 || len(gs.received("Create", c.objectURL(a.ID))) != 0 {
		t.Fatalf("410 inbox: %d POSTs, want exactly 1", gs.Attempts[createID])
	}
	d := c.deliveries(a.ID)
	byTarget := map[string]string{}
	for _, x := range d.Deliveries {
		byTarget[x.Target] = fmt.Sprintf("%s/%d", x.State, x.Attempts)
		if x.State == "dead" && !strings.Contains(x.LastError, "410") {
			t.Errorf("dead delivery's last error %q does not say 410", x.LastError)
		}
	}
	if byTarget[flaky.URL+"/inbox"] != "delivered/3" || byTarget[gone.URL+"/inbox"] != "dead/1" {
		t.Fatalf("deliveries by target = %v, want flaky delivered/3 and gone dead/1", byTarget)
	}
}

// Acceptance 5: killing crieur while deliveries wait for a retry loses none.
func TestRestartKeepsPendingDeliveries(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// The peer fails on purpose: its host must not be parked for failing
	// (the retries postponed to the parking's end, past this test's wait),
	// which is another test's subject.
	noParking := "CRIEUR_DELIVERY_PARK_AFTER=1000"
	c := startCrieur(t, data, 0, noParking)
	p := startPeer(t)
	p.follow(c)
	p.call("/_test/mode", map[string]any{"fail": 100000})
	var ids []int64
	for i := range 3 {
		a, code := c.post(map[string]any{"title": fmt.Sprintf("Volunteers wanted #%d", i), "kind": "call",
			"call": map[string]any{"roles": []map[string]any{{"name": "driver", "places": 2}}, "contact": "hello@example.org"}}, nil)
		if code != http.StatusCreated {
			t.Fatalf("post %d: status %d", i, code)
		}
		ids = append(ids, a.ID)
	}
	waitFor(t, 10*time.Second, "failed first attempts", func() bool {
		for _, id := range ids {
			d := c.deliveries(id)
			if d.Counts["retrying"] != 1 {
				return false
			}
		}
		return true
	})
	token := c.Token
	c.Kill()
	p.call("/_test/mode", map[string]any{"fail": 0})
	if got := p.state(); len(got.received("Create", c.objectURL(ids[0]))) != 0 {
		t.Fatal("a Create got through while the inbox was failing")
	}

	c2 := startCrieur(t, data, c.Port, noParking)
	c2.Token = token
	if c2.Token == "" {
		t.Fatal("no token")
	}
	waitFor(t, 15*time.Second, "every Create after the restart", func() bool {
		st := p.state()
		for _, id := range ids {
			if len(st.received("Create", c2.objectURL(id))) == 0 {
				return false
			}
		}
		return true
	})
	c2.waitQueueIdle()
	st := p.state()
	for _, id := range ids {
		if n := len(st.received("Create", c2.objectURL(id))); n != 1 {
			t.Errorf("announcement %d: %d Creates accepted, want 1", id, n)
		}
	}
}

// Likes and replies from the fediverse become interactions; Undo(Follow)
// removes the follower, who then gets nothing more.
func TestInteractionsAndUnfollow(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	p.follow(c)
	a, _ := c.post(map[string]any{"title": "Repair café", "kind": "call",
		"call": map[string]any{"roles": []map[string]any{{"name": "fixer", "places": 3}}, "contact": "Ask at the desk"}}, nil)
	obj := c.objectURL(a.ID)
	waitFor(t, 10*time.Second, "Create at the peer", func() bool { return len(p.state().received("Create", obj)) == 1 })

	p.call("/_test/like", map[string]any{"object": obj})
	reply := p.call("/_test/reply", map[string]any{"object": obj, "content": "<p>I can fix <b>bikes</b> &amp; lamps</p>"})
	var inter []map[string]any
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
	if len(inter) != 2 || inter[0]["kind"] != "like" || inter[1]["kind"] != "reply" || inter[1]["content"] != "I can fix bikes & lamps" {
		t.Fatalf("interactions = %v", inter)
	}
	// The author edits the reply (an Update naming the Note), then deletes
	// it (a Delete naming the Note, not the Create): editors see each.
	p.call("/_test/reply", map[string]any{"object": obj, "note": reply["note"], "op": "update", "content": "<p>Only bikes, sorry</p>"})
	inter = nil
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
	if len(inter) != 2 || inter[1]["content"] != "Only bikes, sorry" {
		t.Fatalf("interactions after the reply was edited = %v", inter)
	}
	p.call("/_test/reply", map[string]any{"object": obj, "note": reply["note"], "op": "delete"})
	inter = nil
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &inter)
	if len(inter) != 1 || inter[0]["kind"] != "like" {
		t.Fatalf("interactions after the reply was deleted = %v", inter)
	}

	p.call("/_test/unfollow", map[string]any{})
	var followers []map[string]any
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 0 {
		t.Fatalf("followers after Undo(Follow) = %v", followers)
	}
	b, _ := c.post(map[string]any{"title": "After the unfollow"}, nil)
	c.waitQueueIdle()
	if n := len(p.state().received("Create", c.objectURL(b.ID))); n != 0 {
		t.Fatalf("a former follower got %d Creates", n)
	}
	if d := c.deliveries(b.ID); len(d.Deliveries) != 0 {
		t.Fatalf("deliveries to nobody: %+v", d)
	}
}

// A Fedify 2 peer signs with RFC 9421 first: its follow is accepted on the
// first knock (one POST, 202), and it gets Crieur's Accept.
func TestFedify2FollowsWithRFC9421(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startFedify2Peer(t)
	p.call("/_test/follow", map[string]any{"handle": c.handle()})
	type sent struct {
		Method, URL string
		Status      int
		RFC9421     bool
		Cavage      bool
	}
	var st struct {
		Sent     []sent
		Received []struct{ Type string }
	}
	waitFor(t, 10*time.Second, "the Accept at the Fedify 2 peer", func() bool {
		st.Received = nil
		p.get("/_test/state", &st)
		return len(st.Received) == 1 && st.Received[0].Type == "Accept"
	})
	var posts []sent
	for _, s := range st.Sent {
		if s.Method == "POST" && strings.HasPrefix(s.URL, c.URL) {
			posts = append(posts, s)
		}
	}
	if len(posts) != 1 || !posts[0].RFC9421 || posts[0].Status != http.StatusAccepted {
		t.Fatalf("POSTs to crieur: %+v, want one RFC 9421-signed POST answered 202", posts)
	}
	var followers []map[string]any
	c.api("GET", "/api/v1/boards/news/followers", nil, nil, &followers)
	if len(followers) != 1 || followers[0]["actor"] != p.URL+"/users/alice" {
		t.Fatalf("followers = %v", followers)
	}
}

// /metrics and the queue speak of every board: admin tokens only, or
// /metrics on an address of its own (metrics_listen) without a token.
func TestMetricsAndQueueForAdminsOnly(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	status := func(path, token string) int {
		req, _ := http.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	out, err := runCLI("", nil, "token", "create", "--board", "news", "--data", c.DataDir)
	if err != nil {
		t.Fatalf("token create: %v %s", err, out)
	}
	editor := strings.TrimSpace(string(out))
	editor = editor[strings.LastIndex(editor, "crieur_"):]
	for path, want := range map[string][3]int{"/metrics": {401, 403, 200}, "/api/v1/queue": {401, 403, 200}} {
		got := [3]int{status(c.URL+path, ""), status(c.URL+path, editor), status(c.URL+path, c.Token)}
		if got != want {
			t.Errorf("%s without token, with a board's token, with an admin token: %v, want %v", path, got, want)
		}
	}
	port := freePort(t)
	m := startCrieur(t, t.TempDir(), 0, fmt.Sprintf("CRIEUR_METRICS_LISTEN=127.0.0.1:%d", port))
	if code := status(fmt.Sprintf("http://127.0.0.1:%d/metrics", port), ""); code != 200 {
		t.Errorf("/metrics on metrics_listen: %d", code)
	}
	if code := status(m.URL+"/metrics", m.Token); code != 404 {
		t.Errorf("/metrics on the main listener with metrics_listen set: %d, want 404", code)
	}
}

// Moderation against a real peer: an editor removes a follower (its server
// gets a Reject); a block on the board removes and refuses the account; a
// server-wide domain block refuses everything from it before any fetch,
// and nothing is delivered to it.
func TestModerationBlocksAndRemovals(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	p := startPeer(t)
	alice := p.URL + "/users/alice"
	followers := func() int {
		var list []map[string]any
		c.api("GET", "/api/v1/boards/news/followers", nil, nil, &list)
		return len(list)
	}
	p.follow(c)
	if code := c.api("DELETE", "/api/v1/boards/news/followers?actor="+url.QueryEscape(alice), nil, nil, nil); code != 204 {
		t.Fatalf("remove follower: %d", code)
	}
	waitFor(t, 10*time.Second, "a Reject at the peer", func() bool { return len(p.state().received("Reject", "")) >= 1 })
	if followers() != 0 {
		t.Fatal("the removed follower still follows")
	}

	// A board-level block of the account: the new follow is refused.
	p.follow(c)
	var out map[string]any
	if code := c.api("POST", "/api/v1/boards/news/blocks", map[string]any{"target": alice}, nil, &out); code != 201 {
		t.Fatalf("block: %d %v", code, out)
	}
	if removed, _ := out["removed_followers"].([]any); len(removed) != 1 || followers() != 0 {
		t.Fatalf("the block removed %v", out["removed_followers"])
	}
	waitFor(t, 10*time.Second, "a second Reject", func() bool { return len(p.state().received("Reject", "")) >= 2 })
	raw, _ := json.Marshal(map[string]any{"handle": c.handle()})
	resp, err := peerHTTP.Post(p.URL+"/_test/follow", "application/json", bytes.NewReader(raw))
	if err == nil {
		resp.Body.Close()
	}
	time.Sleep(300 * time.Millisecond)
	if followers() != 0 {
		t.Fatal("a blocked account could follow again")
	}
	var blocks []map[string]any
	c.api("GET", "/api/v1/boards/news/blocks", nil, nil, &blocks)
	if len(blocks) != 1 {
		t.Fatalf("blocks = %v", blocks)
	}
	if code := c.api("DELETE", fmt.Sprintf("/api/v1/boards/news/blocks/%v", blocks[0]["id"]), nil, nil, nil); code != 204 {
		t.Fatalf("unblock: %d", code)
	}
	p.follow(c)
	if followers() != 1 {
		t.Fatal("an unblocked account cannot follow again")
	}

	// A server-wide block of the peer's domain (the loopback host here).
	if code := c.api("POST", "/api/v1/blocks", map[string]any{"target": "127.0.0.1"}, nil, &out); code != 201 || followers() != 0 {
		t.Fatalf("server-wide block: %d, %d followers left", code, followers())
	}
	inbox := c.URL + "/inbox"
	res := p.call("/_test/send", map[string]any{"url": inbox, "activity": map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": p.URL + "/follows/blocked", "type": "Follow", "actor": alice, "object": c.URL + "/boards/news"}})
	if res["status"] != float64(403) {
		t.Fatalf("a POST from a blocked domain: %v, want 403", res["status"])
	}
	a, _ := c.post(map[string]any{"title": "Not for them"}, nil)
	c.waitQueueIdle()
	if d := c.deliveries(a.ID); len(d.Deliveries) != 0 {
		t.Fatalf("deliveries to a blocked domain: %+v", d)
	}
}

// Acceptance 1 of the sign-ups: two Fedify followers answer a call's poll,
// one for a role that is already full. Each sign-up is recorded once, the
// full-role voter gets a direct note, and both get an Update whose counts
// match the store.
func TestFediverseVotesAreSignUps(t *testing.T) {
	t.Parallel() // mostly waiting (retries, coalescing): it overlaps with the other waiting tests
	c := startCrieur(t, t.TempDir(), 0)
	p1, p2 := startPeer(t), startPeer(t)
	p1.follow(c)
	p2.follow(c)
	a, code := c.post(map[string]any{"kind": "call", "title": "Helpers for the fair", "body": "Answer in the poll.",
		"call": map[string]any{"roles": []map[string]any{{"name": "cook", "places": 1}, {"name": "driver", "places": 2}}, "contact": "fair@example.org"}}, nil)
	if code != 201 {
		t.Fatalf("post: %d", code)
	}
	q := c.objectURL(a.ID)
	create := p1.waitActivity("Create", q)
	if obj := create.object(); obj["type"] != "Question" {
		t.Fatalf("the call arrived as %v, want a Question", obj["type"])
	}
	p1.call("/_test/vote", map[string]any{"question": q, "option": "cook", "id": "same"})
	p1.call("/_test/vote", map[string]any{"question": q, "option": "cook", "id": "same"}) // redelivered
	p2.call("/_test/vote", map[string]any{"question": q, "option": "cook"})               // full
	p2.call("/_test/vote", map[string]any{"question": q, "option": "driver"})
	var st struct {
		Taken   map[string]int `json:"taken"`
		Signups []struct {
			Role   string `json:"role"`
			State  string `json:"state"`
			Person struct{ ID string }
		} `json:"signups"`
		Answers []struct {
			Origin  string   `json:"origin"`
			Roles   []string `json:"roles"`
			Outcome string   `json:"outcome"`
			Result  struct {
				Full []string `json:"full"`
			} `json:"result"`
		} `json:"answers"`
	}
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
	if len(st.Signups) != 2 || st.Taken["cook"] != 1 || st.Taken["driver"] != 1 {
		t.Fatalf("sign-ups: %+v", st)
	}
	// The ledger holds each vote once, by its id: the redelivered one is
	// not there twice.
	var ledger []string
	for _, an := range st.Answers {
		ledger = append(ledger, fmt.Sprintf("%v %s full=%v", an.Roles, an.Outcome, an.Result.Full))
	}
	if strings.Join(ledger, "; ") != "[cook] applied full=[]; [cook] applied full=[cook]; [driver] applied full=[]" || !strings.HasSuffix(st.Answers[0].Origin, "/votes/same") {
		t.Fatalf("the ledger holds %v (first origin %q)", ledger, st.Answers[0].Origin)
	}
	// Direct notes: a confirmation, and "full" for the second cook.
	dm := func(p *fedifyPeer, want string) (note string) {
		waitFor(t, 15*time.Second, "a direct note saying "+want, func() bool {
			for _, act := range p.state().Received {
				obj := act.object()
				content, _ := obj["content"].(string)
				if act.Type == "Create" && obj["type"] == "Note" && strings.Contains(content, want) {
					note, _ = obj["id"].(string)
					return true
				}
			}
			return false
		})
		return note
	}
	confirmation := dm(p1, "signed up as cook")
	// The voter answers the direct note, as Mastodon offers: the editors
	// read it beside the call (a trial's reply was taken and dropped).
	p1.call("/_test/reply", map[string]any{"object": confirmation, "content": "<p>I will bring a friend</p>"})
	var replies []map[string]any
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/interactions", a.ID), nil, nil, &replies)
	if len(replies) != 1 || replies[0]["kind"] != "reply" || replies[0]["content"] != "I will bring a friend" {
		t.Errorf("the reply to the direct note: interactions %v", replies)
	}
	dm(p2, "already full")
	dm(p2, "signed up as driver")
	// The redelivered vote was answered once.
	time.Sleep(time.Second)
	told := 0
	for _, act := range p1.state().Received {
		content, _ := act.object()["content"].(string)
		if act.Type == "Create" && strings.Contains(content, "signed up as cook") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the voter got %d confirmations for one vote sent twice", told)
	}
	// Both followers get an Update whose counts match the store (one, after coalescing).
	for _, p := range []*fedifyPeer{p1, p2} {
		waitFor(t, 20*time.Second, "an Update with the counts", func() bool {
			for _, act := range p.state().received("Update", q) {
				obj := act.object()
				opts, _ := obj["oneOf"].([]any)
				counts := map[string]float64{}
				for _, o := range opts {
					m, _ := o.(map[string]any)
					r, _ := m["replies"].(map[string]any)
					n, _ := r["totalItems"].(float64)
					counts[fmt.Sprint(m["name"])] = n
				}
				if counts["cook"] == 1 && counts["driver"] == 1 {
					return true
				}
			}
			return false
		})
		if n := len(p.state().received("Update", q)); n > 3 {
			t.Errorf("%d Updates for 3 sign-up changes; they should be coalesced", n)
		}
		// Counts are poll state, not an edit: the text stays the post's and
		// no Update claims a newer updated (Mastodon would mark the post
		// "Edited" and notify everyone who boosted it).
		text, _ := create.object()["content"].(string)
		for _, act := range p.state().received("Update", q) {
			obj := act.object()
			if obj["content"] != text || obj["updated"] != nil {
				t.Errorf("a count refresh changed the post: updated %v, content %v (was %s)", obj["updated"], obj["content"], text)
			}
		}
	}
}

// The web path of a call: the page shows each role with places left and a
// form; signing up shows the new counts and a private withdraw link; the
// same form sent twice is one sign-up; the link withdraws after a confirm.
func TestWebSignUpAndWithdraw(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, t.TempDir(), 0)
	a, _ := c.post(map[string]any{"kind": "call", "title": "Stewards", "call": map[string]any{
		"roles": []map[string]any{{"name": "steward", "places": 2}}, "contact": "Ask at the desk"}}, nil)
	page := c.objectURL(a.ID)
	body := func(resp *http.Response) string {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	resp, _ := http.Get(page)
	html := body(resp)
	if !strings.Contains(html, "steward – 2 of 2 places left") || !strings.Contains(html, `action="`+page+`/signup?lang=en"`) {
		t.Fatalf("call page:\n%s", html)
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(html)[1]
	form := url.Values{"name": {"Zoé"}, "contact": {"zoe@example.org"}, "role": {"steward"}, "key": {key}}
	resp, _ = http.PostForm(page+"/signup", form)
	html = body(resp)
	if resp.StatusCode != 200 || !strings.Contains(html, "You are signed up as steward") || !strings.Contains(html, "steward – 1 of 2 places left") {
		t.Fatalf("after signing up (%d):\n%s", resp.StatusCode, html)
	}
	withdraw := regexp.MustCompile(`href="([^"]+/withdraw\?lang=en&amp;t=[^"]+)"`).FindStringSubmatch(html)[1]
	withdraw = strings.ReplaceAll(withdraw, "&amp;", "&")
	resp, _ = http.PostForm(page+"/signup", form) // sent again
	if html = body(resp); !strings.Contains(html, "already signed up") {
		t.Fatalf("a second submission:\n%s", html)
	}
	var st struct{ Taken map[string]int }
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
	if st.Taken["steward"] != 1 {
		t.Fatalf("taken = %v", st.Taken)
	}
	// Bad input keeps what was typed and says what to fix.
	resp, _ = http.PostForm(page+"/signup", url.Values{"name": {""}, "contact": {"x"}, "role": {"steward"}, "key": {key + "x"}})
	if html = body(resp); resp.StatusCode != 400 || !strings.Contains(html, "Your name is required") || !strings.Contains(html, `value="x"`) {
		t.Fatalf("an empty name (%d):\n%s", resp.StatusCode, html)
	}
	resp, _ = http.Get(withdraw) // a link preview must not withdraw
	if html = body(resp); !strings.Contains(html, "Withdraw my sign-up") {
		t.Fatalf("withdraw page:\n%s", html)
	}
	u, _ := url.Parse(withdraw)
	resp, _ = http.PostForm(u.Scheme+"://"+u.Host+u.Path, url.Values{"t": {u.Query().Get("t")}})
	if html = body(resp); !strings.Contains(html, "Withdrawn") {
		t.Fatalf("withdraw:\n%s", html)
	}
	st.Taken = nil
	c.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
	if st.Taken["steward"] != 0 {
		t.Fatalf("taken after withdrawal = %v", st.Taken)
	}

	// Editors: a sign-up taken by phone, the CSV export, closing early.
	base := fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID)
	if code := c.api("POST", base+"/signups", map[string]any{"name": "=Jo", "contact": "06 12", "roles": []string{"steward"}}, nil, nil); code != 201 {
		t.Fatalf("add by phone: %d", code)
	}
	req, _ := http.NewRequest("GET", c.URL+base+"/signups.csv", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, _ = http.DefaultClient.Do(req)
	csv := body(resp)
	if !strings.Contains(csv, "steward,confirmed,editor,") || !strings.Contains(csv, "'=Jo") || !strings.Contains(csv, "Zoé") {
		t.Fatalf("CSV:\n%s", csv)
	}
	resp, _ = http.Get(page) // someone opens the page before it closes
	late := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(body(resp))[1]
	if code := c.api("PUT", base+"/closed", nil, nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	resp, _ = http.Get(page)
	if html = body(resp); !strings.Contains(html, "Sign-ups are closed") {
		t.Fatalf("closed call page:\n%s", html)
	}
	resp, _ = http.PostForm(page+"/signup", url.Values{"name": {"Late"}, "role": {"steward"}, "key": {late}})
	if html = body(resp); resp.StatusCode != 409 || !strings.Contains(html, "just closed") {
		t.Fatalf("a sign-up on a closed call (%d):\n%s", resp.StatusCode, html)
	}
	// The web editor lists who signed up, and exports them.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, _ = browser.PostForm(c.URL+"/edit/login", url.Values{"token": {c.Token}})
	body(resp)
	resp, _ = browser.Get(fmt.Sprintf("%s/edit/news/%d", c.URL, a.ID))
	if html = body(resp); !strings.Contains(html, "Zoé") || !strings.Contains(html, "=Jo") || !strings.Contains(html, "Sign-ups are closed") {
		t.Fatalf("editor page:\n%s", html)
	}
	resp, _ = browser.Get(fmt.Sprintf("%s/edit/news/%d/signups.csv", c.URL, a.ID))
	if csv = body(resp); !strings.Contains(csv, "Zoé") {
		t.Fatalf("editor CSV: %s", csv)
	}
	// From the editor page: reopen, add someone by phone, remove them.
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(html)[1]
	edit := fmt.Sprintf("%s/edit/news/%d", c.URL, a.ID)
	resp, _ = browser.PostForm(edit+"/closed", url.Values{"csrf": {csrf}, "closed": {"false"}})
	if html = body(resp); !strings.Contains(html, "Sign-ups are open again") {
		t.Fatalf("reopen from the editor:\n%s", html)
	}
	resp, _ = browser.PostForm(edit+"/signups", url.Values{"csrf": {csrf}, "name": {"Max"}, "role": {"steward"}})
	if html = body(resp); !strings.Contains(html, "Max is signed up as steward") {
		t.Fatalf("add by phone from the editor:\n%s", html)
	}
	sid := regexp.MustCompile(`/signups/(\d+)/remove" ?><input type="hidden" name="csrf" value="[^"]+"><button type="submit" aria-label="Remove Max`).FindStringSubmatch(html)
	if sid == nil {
		t.Fatalf("no remove button for Max:\n%s", html)
	}
	resp, _ = browser.PostForm(edit+"/signups/"+sid[1]+"/remove", url.Values{"csrf": {csrf}})
	if html = body(resp); !strings.Contains(html, "Sign-up removed") || !strings.Contains(html, "steward: 1 of 2") {
		t.Fatalf("remove from the editor:\n%s", html)
	}
	if resp, _ = http.Get(fmt.Sprintf("%s/edit/news/%d/signups.csv", c.URL, a.ID)); strings.Contains(body(resp), "Zoé") {
		t.Fatal("the sign-ups are readable without signing in")
	}
}

// Acceptance 5 of the sign-ups: Crieur is killed between a vote and the
// Update that carries its count; after the restart the Update goes out,
// once, and the sign-up is there once.
func TestRestartBetweenVoteAndUpdate(t *testing.T) {
	t.Parallel() // mostly waiting (retries, coalescing): it overlaps with the other waiting tests
	data := t.TempDir()
	c := startCrieur(t, data, 0)
	p := startPeer(t)
	p.follow(c)
	a, _ := c.post(map[string]any{"kind": "call", "title": "Night watch", "call": map[string]any{
		"roles": []map[string]any{{"name": "watcher", "places": 3}}, "contact": "Ask Ana"}}, nil)
	q := c.objectURL(a.ID)
	p.waitActivity("Create", q)
	p.call("/_test/mode", map[string]any{"fail": 100000}) // the Update cannot land yet
	p.call("/_test/vote", map[string]any{"question": q, "option": "watcher", "id": "v1"})
	waitFor(t, 10*time.Second, "the refresh's first failed try", func() bool {
		for _, d := range c.deliveries(a.ID).Deliveries {
			if d.Verb == "refresh" && d.State == "retrying" {
				return true
			}
		}
		return false
	})
	token := c.Token
	c.Kill()
	p.call("/_test/mode", map[string]any{"fail": 0})
	c2 := startCrieur(t, data, c.Port)
	c2.Token = token
	waitFor(t, 20*time.Second, "the Update after the restart", func() bool { return len(p.state().received("Update", q)) > 0 })
	p.call("/_test/vote", map[string]any{"question": q, "option": "watcher", "id": "v1"}) // redelivered by the peer
	c2.waitQueueIdle()
	time.Sleep(6 * time.Second) // past the refresh window: any second Update would be out
	seen := map[string]int{}
	for _, u := range p.state().received("Update", q) {
		seen[u.ID]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("Update %s accepted %d times", id, n)
		}
	}
	var st struct{ Taken map[string]int }
	c2.api("GET", fmt.Sprintf("/api/v1/boards/news/announcements/%d/signups", a.ID), nil, nil, &st)
	if st.Taken["watcher"] != 1 {
		t.Fatalf("taken = %v, want the one sign-up", st.Taken)
	}
}

// After a follower's server failed some activities, one post's activities
// still arrive in the order they were made: a pin held up by the outage
// goes before its unpin, never after it (the unpin first would leave the
// post pinned there for good), and an edit made meanwhile comes after
// them (issue 22, point 10). Read by the Fedify peer. The same with
// crieur deliver workers, which have no store to keep an order with: they
// take the Creates only.
func TestActivitiesKeepTheirOrderAfterAnOutage(t *testing.T) {
	t.Parallel() // waits for retries
	for _, mode := range []string{"one process", "with crieur deliver workers"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			activitiesKeepTheirOrder(t, mode != "one process")
		})
	}
}

func activitiesKeepTheirOrder(t *testing.T, workers bool) {
	env := []string{"CRIEUR_DELIVERY_PARK_AFTER=1000"}
	data := t.TempDir()
	if workers {
		rs := redistest.Start(t)
		env = append(env, "CRIEUR_REDIS_URL="+rs.URL())
	}
	serveEnv := env
	if workers {
		serveEnv = append(env, "CRIEUR_DELIVERY_WORKERS=0")
	}
	c := startCrieur(t, data, 0, serveEnv...)
	if workers {
		// serve only fans out and keeps the order; the worker delivers.
		key, err := runCLI("", nil, "board", "key", "news", "--data", data)
		if err != nil {
			t.Fatal(err)
		}
		keys := t.TempDir()
		if err := os.WriteFile(filepath.Join(keys, "news.pem"), []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		startProc(t, []string{"deliver", "--keys", keys}, append(env, "CRIEUR_DELIVERY_WORKERS=4")...)
	}
	p := startPeer(t)
	p.follow(c)
	a, _ := c.post(map[string]any{"title": "General assembly", "body": "On Saturday."}, nil)
	q := c.objectURL(a.ID)
	p.waitActivity("Create", q)
	// The peer refuses every Add for a while: the pin fails and is retried.
	p.call("/_test/mode", map[string]any{"failTypes": map[string]int{"Add": 3}})
	base := fmt.Sprintf("/api/v1/boards/news/announcements/%d", a.ID)
	if code := c.api("PUT", base+"/pin", nil, nil, nil); code != 200 {
		t.Fatalf("pin: %d", code)
	}
	waitFor(t, 10*time.Second, "the pin's first refusal", func() bool { return addAttempts(p) >= 1 })
	if code := c.api("DELETE", base+"/pin", nil, nil, nil); code != 200 {
		t.Fatalf("unpin: %d", code)
	}
	if code := c.api("PATCH", base, map[string]any{"body": "On Saturday, 10:00."}, nil, nil); code != 200 {
		t.Fatalf("edit: %d", code)
	}
	// The edit is the last to go; an idle queue is not enough (jobs that
	// wait for an earlier one are scheduled, not ready: seen once, the
	// peer had only the Add when the queue looked idle).
	p.waitActivity("Update", q)
	var seq []string
	for _, act := range p.state().Received {
		oid, _ := act.object()["id"].(string)
		if oid == "" {
			_ = json.Unmarshal(act.Object, &oid)
		}
		if oid == q && act.Type != "Create" {
			seq = append(seq, act.Type)
		}
	}
	if got := strings.Join(seq, " "); got != "Add Remove Update" {
		t.Fatalf("the peer got %q about the post, want the pin, the unpin and the edit in that order", got)
	}
}

// addAttempts counts the peer's refused or accepted POSTs of Add activities.
func addAttempts(p *fedifyPeer) int {
	n := 0
	for id, k := range p.state().Attempts {
		if strings.Contains(id, "/activity/pin/") {
			n += k
		}
	}
	return n
}
