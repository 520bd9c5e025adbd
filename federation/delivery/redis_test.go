package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"crieur/board"
	"crieur/federation/delivery/redistest"
)

// flakyRecorder fails its first fail calls, as a busy store would.
type flakyRecorder struct {
	fakeRecorder
	mu   sync.Mutex
	fail int
}

func (f *flakyRecorder) RecordDelivery(ctx context.Context, id int64, target, state string, attempts int, lastErr string) error {
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return errors.New("database is locked")
	}
	f.mu.Unlock()
	return f.fakeRecorder.RecordDelivery(ctx, id, target, state, attempts, lastErr)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisResultsReachTheRecorder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	rec := &flakyRecorder{fakeRecorder: fakeRecorder{got: map[string][]recorded{}}, fail: 2}
	done := make(chan struct{})
	go func() {
		NewRedisResults(rdb, "t:").Drain(ctx, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })

	// A worker finishes a job: its outcome travels in the same script.
	q := NewRedisQueue(rdb, "t:", "k").WithResults()
	if err := q.Enqueue(ctx, Job{ID: "j1", Kind: "k", OutboxID: 3, Target: "https://a.example/inbox"}); err != nil {
		t.Fatal(err)
	}
	j, ok := reserveWithin(t, q, time.Minute, 2*time.Second)
	if !ok {
		t.Fatal("no job")
	}
	j.Outcome = &Outcome{OutboxID: 3, Target: j.Target, State: board.DeliveryDelivered, Attempts: 1}
	if err := q.Ack(ctx, j); err != nil {
		t.Fatal(err)
	}
	// The recorder fails twice; the result is kept and recorded later.
	waitUntil(t, "the outcome recorded", func() bool { return rec.last(j.Target).state == board.DeliveryDelivered })

	// Redis ran an XREADGROUP for us but died before replying; go-redis
	// sent it again and got the next entries. Simulated in one
	// transaction, so Drain's own blocked read cannot take the entry first.
	raw, _ := json.Marshal(Outcome{OutboxID: 4, Target: "https://b.example/inbox", State: board.DeliveryDead, Attempts: 2, Error: "410"})
	pipe := rdb.TxPipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: "t:results", Values: []any{"outcome", string(raw)}})
	pipe.XReadGroup(ctx, &redis.XReadGroupArgs{Group: resultsGroup, Consumer: "serve", Streams: []string{"t:results", ">"}, Count: 10, Block: -1})
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stranded outcome recorded", func() bool {
		return rec.last("https://b.example/inbox") == recorded{board.DeliveryDead, 2, "410"}
	})
	waitUntil(t, "the results stream emptied", func() bool { return rdb.XLen(ctx, "t:results").Val() == 0 })
}

// countingHandler counts log records at Error level.
type countingHandler struct {
	slog.Handler
	errors *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors.Add(1)
	}
	return nil
}

// Many workers share few Redis connections: one of them reads for all
// the others, and concurrent finishes go in one pipeline, so a pool far
// larger than the client's connection pool neither starves nor errs, and
// each job runs once.
func TestRedisQueueManyWorkersFewConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 4, PoolTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	q := NewRedisQueue(rdb, "t:", "d")
	var errs atomic.Int64
	var mu sync.Mutex
	runs := map[string]int{}
	pool := &Pool{
		Queue:    q,
		Handlers: map[string]Handler{},
		Policy:   RetryPolicy{Base: time.Second, Max: time.Second, Window: time.Hour},
		Workers:  48, Lease: time.Minute, Poll: 50 * time.Millisecond,
		Log: slog.New(countingHandler{slog.NewTextHandler(io.Discard, nil), &errs}),
	}
	pool.Handlers["d"] = HandlerFunc(func(_ context.Context, j Job) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // a delivery's round trip
		return nil
	})
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // the workers wait, as for a fan-out
	const n = 600
	var js []Job
	for i := range n {
		js = append(js, Job{ID: fmt.Sprint("j", i), Kind: "d", Target: fmt.Sprintf("https://h%d.example/inbox", i%60)})
	}
	if err := q.Enqueue(ctx, js...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every job run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(runs) == n
	})
	waitUntil(t, "an empty queue", func() bool {
		st, err := q.Stats(ctx)
		return err == nil && st["ready"] == 0 && st["leased"] == 0
	})
	mu.Lock()
	defer mu.Unlock()
	for id, k := range runs {
		if k != 1 {
			t.Errorf("job %s ran %d times", id, k)
		}
	}
	if e := errs.Load(); e != 0 {
		t.Errorf("%d errors logged (connection pool exhausted?)", e)
	}
}
