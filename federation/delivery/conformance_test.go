package delivery

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"crieur/federation/delivery/redistest"
)

// Both queue implementations pass the same suite.
func TestQueueConformance(t *testing.T) {
	impls := map[string]func(t *testing.T) Queue{
		"sqlite": func(t *testing.T) Queue { return openQueue(t, filepath.Join(t.TempDir(), "q.db")) },
		"redis": func(t *testing.T) Queue {
			srv := redistest.Start(t)
			q := NewRedisQueue(srv.Client(t), "test:", "k")
			q.block = 100 * time.Millisecond
			return q
		},
	}
	for name, newQueue := range impls {
		t.Run(name, func(t *testing.T) { queueSuite(t, newQueue) })
	}
}

func reserveWithin(t *testing.T, q Queue, lease, within time.Duration) (Job, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, ok, err := q.Reserve(context.Background(), lease)
		if err != nil {
			t.Fatal(err)
		}
		if ok || time.Now().After(deadline) {
			return j, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queueSuite(t *testing.T, newQueue func(t *testing.T) Queue) {
	ctx := context.Background()
	const lease = time.Minute

	t.Run("enqueue reserve ack", func(t *testing.T) {
		q := newQueue(t)
		if err := q.Enqueue(ctx, Job{ID: "j1", Kind: "k", OutboxID: 7, Target: "https://a.example/inbox", Payload: []byte(`{"x":1}`)}); err != nil {
			t.Fatal(err)
		}
		j, ok := reserveWithin(t, q, lease, 2*time.Second)
		if !ok || j.ID != "j1" || j.OutboxID != 7 || j.Target != "https://a.example/inbox" || string(j.Payload) != `{"x":1}` || j.Attempts != 1 || time.Since(j.CreatedAt) > time.Minute {
			t.Fatalf("reserved %+v %v", j, ok)
		}
		if _, ok, _ := q.Reserve(ctx, lease); ok {
			t.Fatal("a leased job was handed out twice")
		}
		if err := q.Ack(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := q.Reserve(ctx, lease); ok {
			t.Fatal("an acknowledged job came back")
		}
	})

	t.Run("enqueue is idempotent", func(t *testing.T) {
		q := newQueue(t)
		q.Enqueue(ctx, Job{ID: "same", Kind: "k"}, Job{ID: "same", Kind: "k"})
		j, _ := reserveWithin(t, q, lease, 2*time.Second)
		q.Ack(ctx, j)
		q.Enqueue(ctx, Job{ID: "same", Kind: "k"}) // a re-run fan-out after the job was done
		if j, ok, _ := q.Reserve(ctx, lease); ok {
			t.Fatalf("duplicate job reserved: %+v", j)
		}
	})

	t.Run("retry waits and counts", func(t *testing.T) {
		q := newQueue(t)
		q.Enqueue(ctx, Job{ID: "r", Kind: "k"})
		j, _ := reserveWithin(t, q, lease, 2*time.Second)
		due := time.Now().Add(700 * time.Millisecond)
		if err := q.Retry(ctx, j, due, "500"); err != nil {
			t.Fatal(err)
		}
		if j, ok, _ := q.Reserve(ctx, lease); ok {
			t.Fatalf("retry handed out early: %+v", j)
		}
		j, ok := reserveWithin(t, q, lease, 3*time.Second)
		if !ok || j.Attempts != 2 || time.Now().Before(due.Truncate(time.Millisecond)) { // the SQLite queue keeps milliseconds
			t.Fatalf("retry: %+v %v", j, ok)
		}
		// Postpone gives the attempt back.
		if err := q.Postpone(ctx, j, time.Now()); err != nil {
			t.Fatal(err)
		}
		j, ok = reserveWithin(t, q, lease, 3*time.Second)
		if !ok || j.Attempts != 2 {
			t.Fatalf("after postpone: %+v %v", j, ok)
		}
	})

	t.Run("hurry makes one target's retries due now", func(t *testing.T) {
		q := newQueue(t)
		q.Enqueue(ctx, Job{ID: "a", Kind: "k", Target: "!room-a"}, Job{ID: "b", Kind: "k", Target: "!room-b"})
		for range 2 {
			j, ok := reserveWithin(t, q, lease, 2*time.Second)
			if !ok {
				t.Fatal("no job")
			}
			if err := q.Retry(ctx, j, time.Now().Add(time.Hour), "M_FORBIDDEN"); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := q.Hurry(ctx, "other", "!room-a"); err != nil || n != 0 {
			t.Fatalf("hurry of another kind: %d %v", n, err)
		}
		if n, err := q.Hurry(ctx, "k", "!room-a"); err != nil || n != 1 {
			t.Fatalf("hurry: %d %v, want 1", n, err)
		}
		j, ok := reserveWithin(t, q, lease, 3*time.Second)
		if !ok || j.ID != "a" || j.Attempts != 2 {
			t.Fatalf("after hurry: %+v %v, want job a on its second attempt", j, ok)
		}
		if j, ok := reserveWithin(t, q, lease, 700*time.Millisecond); ok {
			t.Fatalf("a job of another target came early: %+v", j)
		}
		if n, _ := q.Hurry(ctx, "k", "!room-a"); n != 0 {
			t.Fatalf("hurry touched a job in hand: %d", n)
		}
	})

	t.Run("dead letters and revive", func(t *testing.T) {
		q := newQueue(t)
		q.Enqueue(ctx, Job{ID: "d", Kind: "k", Target: "https://gone.example/inbox", Payload: []byte("p")})
		j, _ := reserveWithin(t, q, lease, 2*time.Second)
		if err := q.Bury(ctx, j, "410 Gone"); err != nil {
			t.Fatal(err)
		}
		dead, err := q.Dead(ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].ID != "d" || dead[0].Error != "410 Gone" || dead[0].Target != "https://gone.example/inbox" {
			t.Fatalf("dead = %+v %v", dead, err)
		}
		st, _ := q.Stats(ctx)
		if st["dead"] != 1 || st["ready"] != 0 {
			t.Fatalf("stats = %v", st)
		}
		if err := q.Revive(ctx, dead[0].Handle); err != nil {
			t.Fatal(err)
		}
		if err := q.Revive(ctx, dead[0].Handle); err == nil {
			t.Fatal("revived twice")
		}
		j, ok := reserveWithin(t, q, lease, 2*time.Second)
		if !ok || j.ID != "d" || j.Attempts != 1 || string(j.Payload) != "p" {
			t.Fatalf("revived job: %+v %v", j, ok)
		}
		if dead, _ := q.Dead(ctx, 10); len(dead) != 0 {
			t.Fatalf("still dead: %+v", dead)
		}
	})

	t.Run("expired lease is reclaimed", func(t *testing.T) {
		q := newQueue(t)
		q.Enqueue(ctx, Job{ID: "l", Kind: "k"})
		j, _ := reserveWithin(t, q, 300*time.Millisecond, 2*time.Second)
		// The worker holding j dies; after the lease another takes it over.
		j2, ok := reserveWithin(t, q, 300*time.Millisecond, 5*time.Second)
		if !ok || j2.ID != "l" {
			t.Fatalf("not reclaimed: %+v %v", j2, ok)
		}
		if err := q.Ack(ctx, j2); err != nil {
			t.Fatal(err)
		}
		_ = j
	})

	t.Run("concurrent workers take each job once", func(t *testing.T) {
		q := newQueue(t)
		var jobs []Job
		for i := range 200 {
			jobs = append(jobs, Job{ID: fmt.Sprint("c", i), Kind: "k"})
		}
		if err := q.Enqueue(ctx, jobs...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				idle := 0
				for idle < 3 {
					j, ok, err := q.Reserve(ctx, lease)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						idle++
						time.Sleep(20 * time.Millisecond)
						continue
					}
					idle = 0
					mu.Lock()
					seen[j.ID]++
					mu.Unlock()
					if err := q.Ack(ctx, j); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if len(seen) != 200 {
			t.Fatalf("%d distinct jobs handled, want 200", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s handled %d times", id, n)
			}
		}
		st, _ := q.Stats(ctx)
		if st["ready"] != 0 || st["leased"] != 0 {
			t.Fatalf("stats after draining: %v", st)
		}
	})
}
