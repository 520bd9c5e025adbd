// Package delivery moves announcements from the store to their
// destinations: the dispatcher turns outbox rows into fan-out jobs, fan-out
// expands them into one job per destination, and workers run each job with
// retries, backoff and dead letters, recording every outcome in the store.
//
// The Queue interface has an embedded implementation on the store's SQLite
// file; a Redis one can take its place without the rest noticing.
//
// It knows jobs, not formats: each destination's package renders and
// sends its own; the queue's table is made by the store's registry.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Job is one unit of work. A job carries everything its handler needs, so
// workers stay stateless.
type Job struct {
	// ID is unique and deterministic (derived from what the job does), so
	// enqueueing the same work twice is a no-op.
	ID       string
	Kind     string
	OutboxID int64  // the outbox entry this serves; 0 for other work (an Accept)
	Target   string // destination (an inbox URL, a room) for records and limits
	Payload  []byte
	// Attempts counts tries including the current one; set by the queue.
	Attempts  int
	CreatedAt time.Time
	// Receipt is the queue's handle on a reserved job (a stream entry id);
	// Ack, Retry, Bury and Postpone need it.
	Receipt string
	// Outcome, set by a Pool without a Recorder before it finishes the
	// job, is carried by queues that can (Redis: the results stream, in
	// the same atomic step).
	Outcome *Outcome
}

// Outcome is what became of one delivery attempt, as the store records it.
type Outcome struct {
	OutboxID int64  `json:"outbox"`
	Target   string `json:"target"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	// NextAttempt is when a retried delivery goes again.
	NextAttempt time.Time `json:"next,omitzero"`
}

// DeadJob is a job given up, as an operator sees it.
type DeadJob struct {
	Job
	// Handle names the dead letter for Revive.
	Handle string
	Error  string
	DiedAt time.Time
}

// Queue stores jobs until they succeed or are given up.
type Queue interface {
	// Enqueue adds jobs; ids already present are ignored.
	Enqueue(ctx context.Context, jobs ...Job) error
	// Reserve leases the next due job for lease; ok is false when none is due.
	// A job whose lease runs out without Ack, Retry or Bury is run again.
	Reserve(ctx context.Context, lease time.Duration) (job Job, ok bool, err error)
	// Ack marks a reserved job done.
	Ack(ctx context.Context, job Job) error
	// Retry makes a reserved job due again at at, counting the attempt.
	Retry(ctx context.Context, job Job, at time.Time, lastErr string) error
	// Postpone makes a reserved job due again at at without counting the
	// attempt (its host was busy or parked).
	Postpone(ctx context.Context, job Job, at time.Time) error
	// Bury moves a reserved job to the dead letters.
	Bury(ctx context.Context, job Job, lastErr string) error
	// Stats counts jobs by state: ready (waiting, due or not), due,
	// leased, dead, and done where the queue keeps them.
	Stats(ctx context.Context) (map[string]int, error)
	// Wake is signalled when jobs may have become due; nil when Reserve
	// itself blocks until then.
	Wake() <-chan struct{}
	// Dead lists up to limit dead letters, oldest first.
	Dead(ctx context.Context, limit int) ([]DeadJob, error)
	// Revive queues a dead letter again with a fresh retry window.
	Revive(ctx context.Context, id string) error
	// Hurry makes the jobs of kind for target that wait for a retry due
	// now, because what made them fail was fixed; it returns how many.
	// Jobs in hand are left alone.
	Hurry(ctx context.Context, kind, target string) (int, error)
}

// ErrNoSuchJob is returned for a job id the queue does not hold in the
// expected state.
var ErrNoSuchJob = errors.New("no such job")

// PermanentError marks a failure that retrying cannot fix (a 4xx answer,
// a malformed job): the job goes straight to the dead letters.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// LocalError marks a failure on our side (a signing key the worker cannot
// read, say): the job is retried as usual, but the destination's health is
// left alone, so a worker's own trouble does not park every host.
type LocalError struct{ Err error }

func (e *LocalError) Error() string { return e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// Local wraps err as a LocalError.
func Local(err error) error { return &LocalError{Err: err} }

// WaitError asks to run the job again after After without counting the
// attempt or blaming the destination: the job waits for another one (a
// room's earlier message) rather than failing.
type WaitError struct {
	Reason string
	After  time.Duration
}

func (e *WaitError) Error() string { return e.Reason }

// RetryAfterError asks for the next try no sooner than After (a 429 or 503
// with Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return fmt.Sprintf("%v (retry after %s)", e.Err, e.After) }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryPolicy spaces retries exponentially with jitter and gives up after
// Window since the job was created.
type RetryPolicy struct {
	Base, Max, Window time.Duration
}

// Next returns when to try again after the attempts-th failed try, or false
// when the retry window is over. hint (from Retry-After) is honoured up to Max.
func (p RetryPolicy) Next(attempts int, created, now time.Time, hint time.Duration) (time.Time, bool) {
	d := p.Base
	for i := 1; i < attempts && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	// ±20% jitter spreads the retries of one fan-out so a recovering host is
	// not hit by every job at the same instant.
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	if hint > 0 {
		// The destination said when to come back (Retry-After, Matrix's
		// retry_after_ms): then, not after our own backoff (asked for
		// 1.5 s, Crieur waited 4 to 36 s), a little later rather than
		// sooner so that the jobs it held back do not all knock at once.
		d = min(hint+time.Duration(rand.Int64N(int64(min(hint/10, time.Second))+1)), p.Max)
	}
	at := now.Add(d)
	if at.After(created.Add(p.Window)) {
		return time.Time{}, false
	}
	return at, true
}

// Handler runs jobs of one kind.
type Handler interface {
	Handle(ctx context.Context, job Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job Job) error { return f(ctx, job) }

// ErrUnknownKind is returned for a job no handler is registered for.
var ErrUnknownKind = errors.New("no handler for this job kind")

// RetryAfter reads a Retry-After header (seconds or an HTTP date) as the
// wait it asks for; 0 when it asks for none or cannot be read.
func RetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil && secs > 0 {
		// Seconds beyond a week would overflow a Duration or park the
		// delivery for ever; the queue's retry window decides after that.
		return time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter is the longest a server's Retry-After is obeyed.
const maxRetryAfter = 7 * 24 * time.Hour
