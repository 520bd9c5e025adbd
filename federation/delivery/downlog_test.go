package delivery

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// downQueue is a queue that cannot be reached until up is set.
type downQueue struct {
	Queue
	up atomic.Bool
}

func (q *downQueue) Reserve(ctx context.Context, lease time.Duration) (Job, bool, error) {
	if !q.up.Load() {
		return Job{}, false, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return Job{}, false, nil
}

func (q *downQueue) Wake() <-chan struct{} { return nil }

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, r.Level.String()+" "+r.Message)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

// A queue that is down is said once, then summed up once a period, and
// its return is said once: eight workers failing every second while
// Redis restarts made 846 lines in 72 s (issue 23, point 13).
func TestQueueDownIsLoggedOnceThenSummed(t *testing.T) {
	q := &downQueue{}
	log := &lines{}
	p := &Pool{Queue: q, Handlers: map[string]Handler{}, Workers: 8, Lease: time.Second, Poll: 50 * time.Millisecond,
		Log: slog.New(log), DownEvery: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	time.Sleep(2500 * time.Millisecond)
	q.up.Store(true)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-done
	log.mu.Lock()
	defer log.mu.Unlock()
	count := func(s string) int {
		n := 0
		for _, l := range log.got {
			if strings.Contains(l, s) {
				n++
			}
		}
		return n
	}
	if count("is down") != 1 || count("still down") < 1 || count("still down") > 3 || count("is back") != 1 || len(log.got) > 5 {
		t.Fatalf("the log of 2.5 s down with 8 workers:\n%s", strings.Join(log.got, "\n"))
	}
}
