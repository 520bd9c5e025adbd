package delivery

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"crieur/board"
	"crieur/board/store"
	"crieur/board/store/storetest"
	"crieur/federation/delivery/redistest"
)

func openStore(t testing.TB) (*store.Store, *sql.DB) { return storetest.Open(t) }

// addResults writes outcomes to the results stream as workers do.
func addResults(t testing.TB, rdb *redis.Client, stream string, outcomes []Outcome) {
	t.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	for _, o := range outcomes {
		raw, _ := json.Marshal(o)
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"outcome", string(raw)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// Results arriving faster than one batch are recorded in the store, in
// stream order (a later outcome for the same delivery wins, delivered
// stays delivered), a malformed entry among them is dropped without
// holding up the others, and the stream ends empty.
func TestRedisResultsRecordedInBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	st, db := openStore(t)
	const n = 3*resultsBatch + 17
	var outcomes []Outcome
	for i := range n {
		outcomes = append(outcomes, Outcome{OutboxID: 9, Target: fmt.Sprintf("https://h%d.example/inbox", i), State: board.DeliveryPending, Attempts: 1, Error: "HTTP 500"})
	}
	// Later outcomes of earlier deliveries, across batch boundaries.
	outcomes = append(outcomes,
		Outcome{OutboxID: 9, Target: "https://h0.example/inbox", State: board.DeliveryDelivered, Attempts: 2},
		Outcome{OutboxID: 9, Target: "https://h0.example/inbox", State: board.DeliveryPending, Attempts: 3, Error: "late"},
		Outcome{OutboxID: 9, Target: "https://h1.example/inbox", State: board.DeliveryDead, Attempts: 2, Error: "HTTP 410"})
	addResults(t, rdb, "t:results", outcomes[:resultsBatch+5])
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "t:results", Values: []any{"outcome", "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	addResults(t, rdb, "t:results", outcomes[resultsBatch+5:])

	done := make(chan struct{})
	go func() {
		NewRedisResults(rdb, "t:").Drain(ctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the results stream emptied", func() bool { return rdb.XLen(ctx, "t:results").Val() == 0 })

	got := map[string]board.Delivery{}
	rows, err := db.QueryContext(ctx, `SELECT target, state, attempts, last_error FROM deliveries WHERE outbox_id = 9`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d board.Delivery
		if err := rows.Scan(&d.Target, &d.State, &d.Attempts, &d.LastError); err != nil {
			t.Fatal(err)
		}
		got[d.Target] = d
	}
	rows.Close()
	if len(got) != n {
		t.Fatalf("%d deliveries recorded, want %d", len(got), n)
	}
	if d := got["https://h0.example/inbox"]; d.State != board.DeliveryDelivered || d.Attempts != 2 {
		t.Errorf("h0: %s after %d attempts, want delivered after 2 (the late pending must not undo it)", d.State, d.Attempts)
	}
	if d := got["https://h1.example/inbox"]; d.State != board.DeliveryDead || d.LastError != "HTTP 410" {
		t.Errorf("h1: %s (%q), want dead (HTTP 410)", d.State, d.LastError)
	}
	if d := got[fmt.Sprintf("https://h%d.example/inbox", n-1)]; d.State != board.DeliveryPending || d.LastError != "HTTP 500" {
		t.Errorf("last: %s (%q), want pending (HTTP 500)", d.State, d.LastError)
	}
	pending, err := rdb.XPending(ctx, "t:results", resultsGroup).Result()
	if err != nil || pending.Count != 0 {
		t.Errorf("results left pending: %+v %v", pending, err)
	}
}

// BenchmarkRedisResultsDrain measures how fast serve records the outcomes
// workers send back, into a real store.
func BenchmarkRedisResultsDrain(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	st, _ := openStore(b)
	const perRound = 2000
	var outcomes []Outcome
	for i := range perRound {
		outcomes = append(outcomes, Outcome{OutboxID: 1, Target: fmt.Sprintf("https://h%d.example/users/%d/inbox", i%200, i), State: board.DeliveryDelivered, Attempts: 1})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		NewRedisResults(rdb, "b:").Drain(ctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		for k := range outcomes {
			outcomes[k].OutboxID = int64(i + 1)
		}
		addResults(b, rdb, "b:results", outcomes)
		start := time.Now()
		for rdb.XLen(ctx, "b:results").Val() != 0 {
			time.Sleep(time.Millisecond)
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(b.N*perRound)/took.Seconds(), "results/s")
}

// The consumer group is made once, not on every pass (once a second while
// idle), and made again when Redis has lost it (restarted without its
// data): results sent after that are still recorded.
func TestRedisResultsGroupMadeOnceAndAgainAfterALoss(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	st, db := openStore(t)
	done := make(chan struct{})
	go func() {
		NewRedisResults(rdb, "t:").Drain(ctx, st, slog.New(slog.DiscardHandler))
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	xgroups := func() int {
		info := rdb.Info(ctx, "commandstats").Val()
		m := regexp.MustCompile(`cmdstat_xgroup\|create:calls=(\d+)|cmdstat_xgroup:calls=(\d+)`).FindStringSubmatch(info)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1] + m[2])
		return n
	}
	time.Sleep(3500 * time.Millisecond) // three idle passes
	if n := xgroups(); n != 1 {
		t.Errorf("XGROUP CREATE sent %d times in three idle passes, want once", n)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	addResults(t, rdb, "t:results", []Outcome{{OutboxID: 7, Target: "https://a.example/inbox", State: board.DeliveryDelivered, Attempts: 1}})
	waitUntil(t, "the result sent after the group was lost, recorded", func() bool {
		var n int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE outbox_id = 7`).Scan(&n)
		return n == 1
	})
}
