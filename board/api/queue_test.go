package api

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"crieur/board"
	"crieur/board/boardtest"
	"crieur/board/httpx"
)

// handingOver is a queue counted just before the dispatcher hands it the
// outbox's entries: Stats answers the counts of that moment, and the
// hand-over (enqueue, then mark the entry dispatched) happens as it
// returns.
type handingOver struct {
	rig    *boardtest.Rig
	mu     sync.Mutex
	queued int
}

func (q *handingOver) Stats(ctx context.Context) (map[string]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	counted := map[string]int{"ready": q.queued, "leased": 0}
	entries, err := q.rig.Store.PendingOutbox(ctx, 100)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		q.queued++
		if err := q.rig.Store.MarkDispatched(ctx, e.ID); err != nil {
			return nil, err
		}
	}
	return counted, nil
}

// "0 ready, 0 outbox_pending" must mean the work is done: the queue's
// counts and the outbox's are read in the order the dispatcher moves an
// entry (outbox, then queue), so an entry handed over between the two
// reads is seen on one side or the other. Read the other way round, a
// post made just before was in neither, and the end-to-end tests that
// wait for an idle queue read its deliveries too early.
func TestQueueCountsSeeAnEntryHandedOverMeanwhile(t *testing.T) {
	ctx := context.Background()
	rig := boardtest.New(t)
	if _, _, err := rig.Service.Create(ctx, board.System, rig.Board, board.Draft{Title: "Outage", Body: "Down."}, ""); err != nil {
		t.Fatal(err)
	}
	admin, _ := rig.Store.CreateToken(ctx, nil, "admin")
	mux := httpx.NewRoutes()
	New(rig.Service, rig.Store, &handingOver{rig: rig}, 4096, slog.New(slog.DiscardHandler)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, st := do(t, srv, "GET", "/api/v1/queue", admin, "", "")
	if code != 200 {
		t.Fatalf("GET /api/v1/queue: %d %v", code, st)
	}
	if st["ready"] == 0.0 && st["outbox_pending"] == 0.0 {
		t.Errorf("counts %v: an idle queue, with a post on its way", st)
	}
}
