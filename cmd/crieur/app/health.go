package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"crieur/board/httpx"
)

// readiness answers probes: /healthz says the process answers, /readyz
// that it can do its work (compose, systemd and Kubernetes restart or
// route around what is not ready).
type readiness struct {
	checks []healthCheck
	// within bounds the answer (0: readyWithin). A check still running
	// then (a Redis that accepts connections and never answers: go-redis
	// waits out its own read timeout and retries) is reported as such,
	// before the prober (crieur ready waits 5 s) gives up and loses every
	// sentence.
	within time.Duration
}

const readyWithin = 3 * time.Second

// healthCheck is one thing serve needs; check says what is wrong, in a
// sentence, or nil.
type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

func (rd *readiness) add(name string, check func(ctx context.Context) error) {
	rd.checks = append(rd.checks, healthCheck{name, check})
}

func (rd *readiness) register(routes *httpx.Routes) {
	routes.Handle("GET /healthz", httpx.Public, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}))
	routes.Handle("GET /readyz", httpx.Public, http.HandlerFunc(rd.ready))
}

func (rd *readiness) ready(w http.ResponseWriter, r *http.Request) {
	within := rd.within
	if within <= 0 {
		within = readyWithin
	}
	ctx, cancel := context.WithTimeout(r.Context(), within)
	defer cancel()
	results := make(map[string]string, len(rd.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range rd.checks {
		wg.Go(func() {
			msg := "ok"
			if err := c.check(ctx); err != nil {
				msg = err.Error()
			}
			mu.Lock()
			results[c.name] = msg
			mu.Unlock()
		})
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
	}
	mu.Lock()
	checks := make(map[string]string, len(rd.checks))
	for _, c := range rd.checks {
		msg, ok := results[c.name]
		if !ok {
			msg = fmt.Sprintf("no answer within %s", within)
		}
		checks[c.name] = msg
	}
	mu.Unlock()
	status, code := "ready", http.StatusOK
	for _, msg := range checks {
		if msg != "ok" {
			status, code = "not ready", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
}

// storeWritable writes to the store: a full disk or a locked file shows
// here, not at the next announcement.
func storeWritable(db *sql.DB) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO health (id, checked_at) VALUES (1, ?)`, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("the store cannot be written: %w", err)
		}
		return nil
	}
}

// dispatcherMoving says whether outbox rows reach the queue: one waiting
// for longer than stuckAfter means the dispatcher is stuck (or the queue
// refuses it).
func dispatcherMoving(oldest func(context.Context) (time.Time, bool, error), stuckAfter time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		t, ok, err := oldest(ctx)
		if err != nil {
			return fmt.Errorf("the outbox cannot be read: %w", err)
		}
		if ok && time.Since(t) > stuckAfter {
			return fmt.Errorf("an announcement has waited %s to be handed to the queue: the dispatcher is stuck or the queue refuses it (see the log)", time.Since(t).Round(time.Second))
		}
		return nil
	}
}
