package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// downLog reports a dependency that is down (Redis, the store) without
// flooding the log: once when it goes down, then a summary once every
// period while it stays down (since when, how many attempts, the last
// error), and once when it is back. Many workers share one.
type downLog struct {
	what   string
	log    *slog.Logger
	period time.Duration

	mu       sync.Mutex
	since    time.Time // zero: up
	attempts int
	last     error
	said     time.Time
}

func newDownLog(what string, log *slog.Logger, period time.Duration) *downLog {
	if period <= 0 {
		period = time.Minute
	}
	return &downLog{what: what, log: log, period: period}
}

// failed records one failed attempt.
func (d *downLog) failed(ctx context.Context, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	d.attempts++
	d.last = err
	switch {
	case d.since.IsZero():
		d.since, d.said, d.attempts = now, now, 1
		d.log.ErrorContext(ctx, d.what+" is down", "err", err)
	case now.Sub(d.said) >= d.period:
		d.said = now
		d.log.ErrorContext(ctx, d.what+" still down", "since", d.since.Format(time.TimeOnly), "attempts", d.attempts, "last_err", err)
	}
}

// ok records a success: if it was down, it says it is back.
func (d *downLog) ok(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.since.IsZero() {
		return
	}
	d.log.InfoContext(ctx, d.what+" is back", "down_for", time.Since(d.since).Round(time.Second).String(), "attempts", d.attempts)
	d.since, d.attempts, d.last = time.Time{}, 0, nil
}
