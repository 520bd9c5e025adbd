package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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

func (f *flakyRecorder) RecordDeliveries(ctx context.Context, recs []board.DeliveryRecord) error {
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return errors.New("database is locked")
	}
	f.mu.Unlock()
	return f.fakeRecorder.RecordDeliveries(ctx, recs)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, 10*time.Second, what, cond)
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
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

// The finishes of one batch go to Redis in one script call, yet each job
// ends on its own: one whose lease was lost, or whose change Redis
// refuses, fails alone and the others in the batch still finish.
func TestRedisFinishBatchIsPerJob(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	q := NewRedisQueue(rdb, "t:", "d").WithResults()
	var js []Job
	for i := range 3 {
		js = append(js, Job{ID: fmt.Sprint("j", i), Kind: "d", OutboxID: 7, Target: fmt.Sprintf("https://h%d.example/inbox", i)})
	}
	if err := q.Enqueue(ctx, js...); err != nil {
		t.Fatal(err)
	}
	var got []Job
	for range 3 {
		j, ok, err := q.Reserve(ctx, time.Minute)
		if err != nil || !ok {
			t.Fatalf("reserve: %v %v", ok, err)
		}
		j.Outcome = &Outcome{OutboxID: 7, Target: j.Target, State: "delivered", Attempts: j.Attempts}
		got = append(got, j)
	}
	// got[1]'s retry cannot be stored: the delayed set's key holds a
	// string. got[2] was taken over by another worker (its entry acked).
	if err := rdb.Set(ctx, q.delayedKey(), "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAck(ctx, q.stream("d"), redisGroup, got[2].Receipt).Err(); err != nil {
		t.Fatal(err)
	}
	r0, err0 := q.finishRequest(got[0], "done")
	r1, err1 := q.finishRequest(got[1], "delay", time.Now().Add(time.Hour).UnixMilli(), "member")
	r2, err2 := q.finishRequest(got[2], "done")
	if err := errors.Join(err0, err1, err2); err != nil {
		t.Fatal(err)
	}
	q.finishBatch(ctx, []*finishReq{r0, r1, r2})
	if r0.err != nil || r0.n != 1 {
		t.Errorf("first job: n=%d err=%v, want finished", r0.n, r0.err)
	}
	if r1.err == nil || !strings.Contains(r1.err.Error(), "WRONGTYPE") {
		t.Errorf("second job: n=%d err=%v, want Redis's WRONGTYPE error", r1.n, r1.err)
	}
	if r2.err != nil || r2.n != 0 {
		t.Errorf("third job: n=%d err=%v, want 0 (lease lost)", r2.n, r2.err)
	}
	// The first job's outcome reached the results stream, and the third's
	// did not: its new owner reports it.
	res, err := rdb.XRange(ctx, q.results, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range res {
		var o Outcome
		json.Unmarshal([]byte(m.Values["outcome"].(string)), &o)
		targets = append(targets, o.Target)
	}
	if len(targets) < 1 || targets[0] != got[0].Target || slices.Contains(targets, got[2].Target) {
		t.Errorf("results stream holds outcomes for %v; want %s first and not %s", targets, got[0].Target, got[2].Target)
	}
	// Through the public methods, the same failures read as errors.
	if err := q.Ack(ctx, got[2]); !errors.Is(err, ErrNoSuchJob) {
		t.Errorf("ack after the lease was lost: %v, want ErrNoSuchJob", err)
	}
}

// A fan-out larger than one enqueue script call, with ids repeated within
// and across calls, adds each job once.
func TestRedisEnqueueInBatchesIsIdempotent(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	q := NewRedisQueue(rdb, "t:", "d")
	job := func(i int) Job {
		return Job{ID: fmt.Sprint("j", i), Kind: "d", Target: fmt.Sprintf("https://h%d.example/inbox", i), Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	var js []Job
	for i := range 3*enqueueBatch + 7 {
		js = append(js, job(i))
	}
	js = append(js, job(3), job(enqueueBatch+1)) // repeated in the last call
	if err := q.Enqueue(ctx, js...); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, js[:2*enqueueBatch]...); err != nil { // all known
		t.Fatal(err)
	}
	n, err := rdb.XLen(ctx, q.stream("d")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(3*enqueueBatch + 7); n != want {
		t.Fatalf("stream holds %d entries, want %d", n, want)
	}
	seen := map[string]bool{}
	for range n {
		j, ok, err := q.Reserve(ctx, time.Minute)
		if err != nil || !ok {
			t.Fatalf("reserve: %v %v", ok, err)
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(j.ID, "j"))
		if seen[j.ID] || string(j.Payload) != string(job(i).Payload) || j.Target != job(i).Target {
			t.Fatalf("job %s: seen before %v, payload %s, target %s", j.ID, seen[j.ID], j.Payload, j.Target)
		}
		seen[j.ID] = true
	}
}

// Two worker processes on one Redis: a host one of them parks is not
// tried by the other while the parking lasts, and once the host is back
// both deliver to it again.
func TestRedisPoolsShareParkings(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	const down = "https://down.example/inbox"
	var isDown atomic.Bool
	isDown.Store(true)
	var mu sync.Mutex
	calls := map[string]int{} // pool name -> deliveries tried to down.example
	delivered := map[string]bool{}
	newPool := func(name string) *Pool {
		return &Pool{
			Queue: NewRedisQueue(rdb, "t:", "d"),
			Handlers: map[string]Handler{"d": HandlerFunc(func(_ context.Context, j Job) error {
				mu.Lock()
				defer mu.Unlock()
				calls[name]++
				if isDown.Load() {
					return errors.New("HTTP 503")
				}
				delivered[j.ID] = true
				return nil
			})},
			Policy:  RetryPolicy{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Window: time.Hour},
			Hosts:   HostPolicy{ParkAfter: 3, ParkBase: 4 * time.Second, ParkMax: 4 * time.Second},
			Workers: 4, Lease: time.Minute, Poll: 20 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	a := newPool("a")
	wg.Go(func() { a.Run(ctx) })
	q := NewRedisQueue(rdb, "t:", "d")
	if err := q.Enqueue(ctx, Job{ID: "first", Kind: "d", Target: down}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "pool a parks the host", func() bool { return a.ParkedHosts() == 1 })
	waitUntil(t, "pool a shares the parking", func() bool { return rdb.HLen(ctx, "t:parked").Val() == 1 })

	// Pool b starts with the host parked: it leaves the new jobs alone.
	b := newPool("b")
	wg.Go(func() { b.Run(ctx) })
	var js []Job
	for i := range 6 {
		js = append(js, Job{ID: fmt.Sprint("j", i), Kind: "d", Target: down})
	}
	if err := q.Enqueue(ctx, js...); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "pool b takes in the parking", func() bool { return b.ParkedHosts() == 1 })
	time.Sleep(time.Second) // both pools reserve and postpone the jobs meanwhile
	mu.Lock()
	tried := calls["b"]
	mu.Unlock()
	if tried != 0 {
		t.Fatalf("pool b tried the parked host %d times", tried)
	}

	// The host comes back: after the parking, a probe succeeds and every
	// job is delivered (those that came up during the probe wait up to
	// 1.5 parkings more).
	isDown.Store(false)
	waitFor(t, 20*time.Second, "every job delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == 7
	})
	waitUntil(t, "no parking left", func() bool {
		return a.ParkedHosts() == 0 && b.ParkedHosts() == 0 && rdb.HLen(ctx, "t:parked").Val() == 0
	})
}

// Jobs read ahead for workers that stopped during the read (a shutdown)
// are handed back: a worker started next takes them at once, not when the
// lease (a minute here) runs out.
func TestRedisReleaseHandsBackReadAheadJobs(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	q := NewRedisQueue(rdb, "t:", "k")
	var js []Job
	for i := range 3 {
		js = append(js, Job{ID: fmt.Sprint("j", i), Kind: "k", Target: "https://a.example/inbox"})
	}
	if err := q.Enqueue(ctx, js...); err != nil {
		t.Fatal(err)
	}
	// Three workers were waiting when the read began; two left (their
	// context ended) before it returned.
	q.reader.mu.Lock()
	q.reader.waiting = 2
	q.reader.mu.Unlock()
	got, ok, err := q.Reserve(ctx, time.Minute)
	if err != nil || !ok {
		t.Fatalf("reserve: %v %v", ok, err)
	}
	if len(q.reader.ready) != 2 {
		t.Fatalf("%d jobs read ahead, want 2", len(q.reader.ready))
	}
	if err := q.Release(ctx); err != nil {
		t.Fatal(err)
	}
	next := NewRedisQueue(rdb, "t:", "k") // the restarted process
	seen := map[string]bool{got.ID: true}
	for range 2 {
		j, ok, err := next.Reserve(ctx, time.Minute)
		if err != nil || !ok {
			t.Fatalf("the next process found nothing to do (%v %v): the read-ahead jobs wait for their lease", ok, err)
		}
		seen[j.ID] = true
	}
	if len(seen) != 3 {
		t.Errorf("jobs taken: %v", seen)
	}
}
