package activitypub

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"crieur/board"
	"crieur/federation/delivery"
)

// captureQueue keeps what is enqueued, once per id as the queues do.
type captureQueue struct {
	mu   sync.Mutex
	jobs []delivery.Job
	seen map[string]bool
}

func (q *captureQueue) Enqueue(_ context.Context, jobs ...delivery.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	for _, j := range jobs {
		if !q.seen[j.ID] {
			q.seen[j.ID] = true
			q.jobs = append(q.jobs, j)
		}
	}
	return nil
}

func (q *captureQueue) take() []delivery.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out
}

// A board's new name and summary reach its followers as an Update of its
// actor, as Mastodon's app/lib/activitypub/activity/update.rb takes one
// (update_account: an actor type, the object's id the sender's): once per
// change, whoever made it; a board first seen, or unchanged, sends
// nothing.
func TestProfileChangesReachFollowers(t *testing.T) {
	s, hs, svc := newTestServer(t)
	q := &captureQueue{}
	s.queue = q
	ctx := context.Background()
	st := storeOf(svc)
	b, _ := st.BoardByName(ctx, "news")
	st.AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox", SharedInbox: "https://peer.example/inbox"})
	st.AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/b", Inbox: "https://peer.example/users/b/inbox", SharedInbox: "https://peer.example/inbox"})
	for range 2 {
		if err := s.SendProfileUpdates(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if jobs := q.take(); len(jobs) != 0 {
		t.Fatalf("%d jobs for a board first seen and unchanged, want none", len(jobs))
	}
	b.DisplayName, b.Summary = "Repair café", "Every Tuesday.\nhttps://example.org/agenda"
	if _, err := svc.SetBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.SendProfileUpdates(ctx); err != nil {
			t.Fatal(err)
		}
	}
	jobs := q.take()
	if len(jobs) != 1 || jobs[0].Target != "https://peer.example/inbox" {
		t.Fatalf("%d jobs after the change (%v), want one to the shared inbox", len(jobs), jobs)
	}
	p, err := decodePayload(jobs[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	var act struct {
		Type, Actor string
		Object      map[string]any
	}
	if err := json.Unmarshal(p.Activity, &act); err != nil {
		t.Fatal(err)
	}
	actorID := hs.URL + "/boards/news"
	if act.Type != "Update" || act.Actor != actorID || act.Object["id"] != actorID || act.Object["type"] != "Organization" {
		t.Fatalf("Mastodon would not update the account from %s", p.Activity)
	}
	if act.Object["name"] != "Repair café" || !strings.Contains(act.Object["summary"].(string), `Every Tuesday.<br><a href="https://example.org/agenda"`) {
		t.Errorf("the Update shows name %v, summary %v", act.Object["name"], act.Object["summary"])
	}
	// Changed by another process (the CLI on the data folder): the same.
	b.DisplayName = "Repair café Nord"
	if err := st.UpdateBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.SendProfileUpdates(ctx); err != nil {
		t.Fatal(err)
	}
	if jobs := q.take(); len(jobs) != 1 {
		t.Errorf("%d jobs after a change written to the store directly, want 1", len(jobs))
	}
}
