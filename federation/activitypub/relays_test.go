package activitypub

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"crieur/board"
	"crieur/federation/delivery"
)

// recQueue keeps what the server enqueues.
type recQueue struct {
	mu   sync.Mutex
	jobs []delivery.Job
}

func (q *recQueue) Enqueue(_ context.Context, jobs ...delivery.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

// last returns the activity of the last job enqueued and its target.
func (q *recQueue) last(t *testing.T) (string, map[string]any) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		t.Fatal("nothing enqueued")
	}
	j := q.jobs[len(q.jobs)-1]
	var p deliverPayload
	var act map[string]any
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p.Activity, &act); err != nil {
		t.Fatal(err)
	}
	return j.Target, act
}

// fakeRelay serves a relay's actor (a Service with a shared inbox), as
// Activity-Relay does at /actor.
func fakeRelay(t *testing.T) (base string, key *rsa.PrivateKey) {
	t.Helper()
	key, _ = rsa.GenerateKey(rand.Reader, 2048)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/actor" {
			http.NotFound(w, r)
			return
		}
		id := srv.URL + "/actor"
		pub, _ := x509MarshalPKIX(&key.PublicKey)
		w.Header().Set("Content-Type", contentTypeAP)
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "type": "Service", "inbox": srv.URL + "/inbox", "endpoints": map[string]any{"sharedInbox": srv.URL + "/inbox"},
			"publicKey": map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pub},
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL, key
}

// The poster it returns signs as actor's #main-key, or as keyID when
// given.
func newRelayTestServer(t *testing.T) (*Server, *board.Service, *recQueue, board.Board, func(actor string, key *rsa.PrivateKey, activity map[string]any, keyID ...string) int) {
	t.Helper()
	s, hs, svc := newTestServer(t)
	q := &recQueue{}
	s.queue, s.relays = q, storeOf(svc)
	b, err := storeOf(svc).BoardByName(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	post := func(actor string, key *rsa.PrivateKey, activity map[string]any, keyID ...string) int {
		t.Helper()
		kid := actor + "#main-key"
		if len(keyID) > 0 {
			kid = keyID[0]
		}
		body, _ := json.Marshal(activity)
		req, _ := http.NewRequest("POST", hs.URL+"/boards/news/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeAP)
		if err := signRequest(req, key, kid, body); err != nil {
			t.Fatal(err)
		}
		return postSigned(t, req)
	}
	return s, svc, q, b, post
}

func relayState(t *testing.T, s *Server, b board.Board, id int64) board.Relay {
	t.Helper()
	r, err := s.relays.Relay(context.Background(), b.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Mastodon's way: a Follow of Public to the relay's inbox; only the relay
// (its host) can accept it; once accepted, the relay's inbox is one more
// target of the fan-out, once even when a follower shares it; what the
// relay passes on from others is taken and ignored; unsubscribing sends
// the Undo of the same Follow.
func TestRelayMastodonStyle(t *testing.T) {
	s, svc, q, b, post := newRelayTestServer(t)
	ctx := context.Background()
	relay, relayKey := fakeRelay(t)
	inbox := relay + "/inbox"

	r, err := s.SubscribeRelay(ctx, b, inbox)
	if err != nil {
		t.Fatal(err)
	}
	target, follow := q.last(t)
	if r.State != board.RelayPending || target != inbox || follow["type"] != "Follow" || follow["object"] != publicAudience ||
		follow["id"] != r.FollowID || follow["actor"] != s.urls.BoardURL("news") || follow["to"] != nil {
		t.Fatalf("relay %+v, follow to %s: %v", r, target, follow)
	}

	// Someone else's Accept of the board's Follow changes nothing.
	eve, eveKey := remotePeer(t)
	if code := post(eve, eveKey, map[string]any{"id": eve + "#accept", "type": "Accept", "actor": eve, "object": map[string]any{"id": r.FollowID, "type": "Follow"}}); code != http.StatusForbidden {
		t.Fatalf("an Accept from another host: %d, want 403", code)
	}
	if got := relayState(t, s, b, r.ID); got.State != board.RelayPending {
		t.Fatalf("after another host's Accept: %s", got.State)
	}
	// Signed as Activity-Relay 1.2 signs: the key id is the actor itself.
	relayActor := relay + "/actor"
	if code := post(relayActor, relayKey, map[string]any{"id": relay + "/activities/1", "type": "Accept", "actor": relayActor, "object": map[string]any{"id": r.FollowID, "type": "Follow"}}, relayActor); code != http.StatusAccepted {
		t.Fatalf("the relay's Accept: %d", code)
	}
	if got := relayState(t, s, b, r.ID); got.State != board.RelayAccepted || got.Actor != relayActor {
		t.Fatalf("after the relay's Accept: %+v", got)
	}

	// The fan-out: followers and the relay, the relay's inbox once.
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: "https://a.example/users/1", Inbox: "https://a.example/users/1/inbox", CreatedAt: time.Now()})
	storeOf(svc).AddFollower(ctx, b.ID, board.Follower{ActorID: relayActor, Inbox: inbox, SharedInbox: inbox, CreatedAt: time.Now()})
	targets := expandTargets(t, s, svc, b)
	if !slices.Equal(targets, []string{inbox, "https://a.example/users/1/inbox"}) {
		t.Fatalf("fan-out targets %v", targets)
	}

	// A post the relay passes on from another server: signed by the
	// relay, the actor someone else. Taken, and nothing recorded.
	if code := post(relayActor, relayKey, map[string]any{"id": "https://elsewhere.example/notes/1/activity", "type": "Create",
		"actor": "https://elsewhere.example/users/zoe", "object": map[string]any{"id": "https://elsewhere.example/notes/1", "type": "Note", "content": "hi"}}); code != http.StatusAccepted {
		t.Fatalf("a relayed post: %d, want 202", code)
	}
	// The same from a server that is no relay is still refused.
	if code := post(eve, eveKey, map[string]any{"id": "https://elsewhere.example/notes/2/activity", "type": "Create",
		"actor": "https://elsewhere.example/users/zoe", "object": map[string]any{"id": "https://elsewhere.example/notes/2", "type": "Note"}}); code != http.StatusUnauthorized {
		t.Fatalf("someone else's post signed by a non-relay: %d, want 401", code)
	}

	if err := s.UnsubscribeRelay(ctx, b, r.ID); err != nil {
		t.Fatal(err)
	}
	target, undo := q.last(t)
	inner, _ := undo["object"].(map[string]any)
	if target != inbox || undo["type"] != "Undo" || inner["id"] != r.FollowID || inner["type"] != "Follow" || inner["object"] != publicAudience {
		t.Fatalf("undo to %s: %v", target, undo)
	}
	if _, err := s.relays.Relay(ctx, b.ID, r.ID); !errors.Is(err, board.ErrNotFound) {
		t.Fatalf("the relay is still listed: %v", err)
	}
	if _, err := storeOf(svc).Follower(ctx, b.ID, relayActor); !errors.Is(err, board.ErrNotFound) {
		t.Fatalf("the relay still follows the board after unsubscribing: %v", err)
	}
	if targets := expandTargets(t, s, svc, b); !slices.Equal(targets, []string{"https://a.example/users/1/inbox"}) {
		t.Fatalf("fan-out targets after unsubscribing: %v", targets)
	}
	// An answer to a Follow no longer held is taken and ignored.
	if code := post(relayActor, relayKey, map[string]any{"id": relay + "/activities/2", "type": "Reject", "actor": relayActor, "object": r.FollowID}); code != http.StatusAccepted {
		t.Fatalf("a late Reject: %d", code)
	}
}

// LitePub's way: the board follows the relay's actor, addressed to it,
// and delivers to its shared inbox; a Reject leaves it out of the fan-out.
func TestRelayLitePubStyleRefused(t *testing.T) {
	s, svc, q, b, post := newRelayTestServer(t)
	ctx := context.Background()
	relay, relayKey := fakeRelay(t)
	relayActor := relay + "/actor"

	r, err := s.SubscribeRelay(ctx, b, relayActor)
	if err != nil {
		t.Fatal(err)
	}
	target, follow := q.last(t)
	to, _ := follow["to"].([]any)
	if r.Actor != relayActor || r.Inbox != relay+"/inbox" || target != relay+"/inbox" || follow["object"] != relayActor || len(to) != 1 || to[0] != relayActor {
		t.Fatalf("relay %+v, follow to %s: %v", r, target, follow)
	}
	if code := post(relayActor, relayKey, map[string]any{"id": relay + "/activities/1", "type": "Reject", "actor": relayActor, "object": r.FollowID}); code != http.StatusAccepted {
		t.Fatalf("the relay's Reject: %d", code)
	}
	if got := relayState(t, s, b, r.ID); got.State != board.RelayRefused {
		t.Fatalf("after the Reject: %s", got.State)
	}
	if targets := expandTargets(t, s, svc, b); len(targets) != 0 {
		t.Fatalf("a refused relay gets deliveries: %v", targets)
	}
	var v *board.ValidationError
	if _, err := s.SubscribeRelay(ctx, b, "ftp://relay.example/inbox"); !errors.As(err, &v) {
		t.Fatalf("an ftp relay: %v", err)
	}
}

// expandTargets posts an announcement and returns the inboxes its Create
// goes to.
func expandTargets(t *testing.T, s *Server, svc *board.Service, b board.Board) []string {
	t.Helper()
	ctx := context.Background()
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Hello"}, "")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := storeOf(svc).PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{}
	for _, e := range entries {
		if e.AnnouncementID != a.ID {
			continue
		}
		jobs, err := s.Expand(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			targets = append(targets, j.Target)
		}
	}
	return targets
}

// The editor's destinations page: subscribe from the form, see the
// relay's state, unsubscribe with Remove (which sends the Undo).
func TestRelaysEditorSetup(t *testing.T) {
	s, _, q, b, _ := newRelayTestServer(t)
	ctx := context.Background()
	relay, _ := fakeRelay(t)
	setup := RelaysSetup{S: s}
	if errs, err := setup.Submit(ctx, b, "relay", url.Values{"url": {"not a relay"}}); err != nil || errs["url"].Key != "problem.relay_url" {
		t.Fatalf("a bad address: %v %v", errs, err)
	}
	if errs, err := setup.Submit(ctx, b, "relay", url.Values{"url": {relay + "/inbox"}}); err != nil || len(errs) != 0 {
		t.Fatalf("subscribe: %v %v", errs, err)
	}
	items, err := setup.Items(ctx, b)
	if err != nil || len(items) != 1 || items[0].Name != relay+"/inbox" || items[0].Summary.Key != "setup.relay_pending" {
		t.Fatalf("items: %+v %v", items, err)
	}
	if err := setup.Remove(ctx, b, relay+"/inbox"); err != nil {
		t.Fatal(err)
	}
	if _, undo := q.last(t); undo["type"] != "Undo" {
		t.Fatalf("remove sent %v", undo)
	}
	if items, _ := setup.Items(ctx, b); len(items) != 0 {
		t.Fatalf("items after remove: %+v", items)
	}
}
