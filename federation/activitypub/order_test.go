package activitypub

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/store/storetest"
	"crieur/federation/delivery"
)

// Seen in CI (TestSignUpsAgreeEverywhere, twice): a call and its first
// refresh (a sign-up by phone just after posting) were fanned out by two
// workers at once. When the refresh's fan-out ran first, its Update went
// to the inbox with no Create row to wait for, and the Create was then
// dropped as superseded: the follower never saw the post. Here the
// refresh's fan-out comes first and the workers deliver what they can
// before the Create's fan-out runs; the inbox must get the Create, then
// the Update.
func TestAPostReachesAnInboxBeforeItsRefreshFannedOutFirst(t *testing.T) {
	ctx := context.Background()
	s, _, svc := newTestServer(t)
	st := storeOf(svc)
	var mu sync.Mutex
	var got []string
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var act struct{ Type string }
		if err := json.NewDecoder(r.Body).Decode(&act); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, act.Type)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer inbox.Close()
	received := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }

	b, _ := st.BoardByName(ctx, "news")
	if err := st.AddFollower(ctx, b.ID, board.Follower{ActorID: inbox.URL + "/users/a", Inbox: inbox.URL + "/users/a/inbox"}); err != nil {
		t.Fatal(err)
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Kind: board.KindCall, Title: "Cooks wanted", Body: "Help us.",
		Call: &board.Call{Roles: []board.Role{{Name: "cook", Places: 3}}, Contact: "ana@example.org"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx board.Tx) error {
		return tx.AddOutbox(ctx, board.OutboxEntry{BoardID: b.ID, AnnouncementID: a.ID, Verb: board.VerbRefresh, Version: a.Version, CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	entries, _ := st.PendingOutbox(ctx, 10)
	if len(entries) != 2 || entries[0].Verb != board.VerbCreate || entries[1].Verb != board.VerbRefresh {
		t.Fatalf("outbox: %+v", entries)
	}
	for _, e := range entries {
		if err := st.MarkDispatched(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
	}

	_, qdb := storetest.Open(t)
	q := delivery.NewSQLiteQueue(qdb)
	fanout := &delivery.FanOut{Outbox: st, Expanders: []delivery.Expander{s}, Queue: q, Pending: st}
	d := &Deliverer{Client: inbox.Client(), Keys: s.Keys(), UserAgent: "test", Order: st}
	pool := &delivery.Pool{Queue: q, Recorder: st, Workers: 2, Lease: time.Minute, Poll: 20 * time.Millisecond,
		Handlers: map[string]delivery.Handler{delivery.KindFanOut: fanout, KindDeliver: d, KindDeliverInOrder: d},
		Policy:   delivery.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, Window: time.Minute},
		Log:      slog.New(slog.DiscardHandler)}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { pool.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	// The refresh's fan-out first; the workers deliver what it gives them.
	if err := q.Enqueue(ctx, delivery.Job{ID: "fanout:2", Kind: delivery.KindFanOut, OutboxID: entries[1].ID}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if r := received(); len(r) > 0 {
		t.Errorf("before the post was fanned out, the inbox got %v", r)
	}
	if err := q.Enqueue(ctx, delivery.Job{ID: "fanout:1", Kind: delivery.KindFanOut, OutboxID: entries[0].ID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(received()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r := received(); !slices.Equal(r, []string{"Create", "Update"}) {
		t.Fatalf("the inbox got %v, want the Create then the Update", r)
	}
}

// Issue 22, point 10, with crieur deliver workers (which have no store to
// keep an order with): a Create may go out from any worker, since what
// follows it waits for it; an announcement's later activities are jobs
// only serve's workers take, which keep the order.
func TestOnlyCreatesGoToWorkersWithoutTheOrder(t *testing.T) {
	ctx := context.Background()
	s, _, svc := newTestServer(t)
	st := storeOf(svc)
	b, _ := st.BoardByName(ctx, "news")
	if err := st.AddFollower(ctx, b.ID, board.Follower{ActorID: "https://peer.example/users/a", Inbox: "https://peer.example/users/a/inbox"}); err != nil {
		t.Fatal(err)
	}
	a, _, err := svc.Create(ctx, board.System, b, board.Draft{Title: "Assembly", Body: "Saturday."}, "")
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := svc.Update(ctx, board.System, b, a.ID, func(d *board.Draft) error { d.Body = "Sunday."; return nil })
			return err
		},
		func() error { _, err := svc.Pin(ctx, board.System, b, a.ID, true); return err },
		func() error { _, err := svc.Pin(ctx, board.System, b, a.ID, false); return err },
		func() error { return svc.Delete(ctx, board.System, b, a.ID) },
	}
	var got []string
	expand := func() {
		entries, _ := st.PendingOutbox(ctx, 100)
		for _, e := range entries {
			jobs, err := s.Expand(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				got = append(got, string(e.Verb)+":"+j.Kind)
			}
			st.MarkDispatched(ctx, e.ID)
		}
	}
	for _, step := range steps {
		expand() // as it goes: a deleted post's earlier entries expand to nothing
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	expand()
	want := []string{"create:" + KindDeliver, "update:" + KindDeliverInOrder, "pin:" + KindDeliverInOrder, "unpin:" + KindDeliverInOrder, "delete:" + KindDeliverInOrder}
	if !slices.Equal(got, want) {
		t.Errorf("jobs %v, want %v", got, want)
	}
}
