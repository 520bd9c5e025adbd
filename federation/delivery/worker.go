package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"crieur/board"
)

// Recorder keeps the visible state of each delivery; board.Store is one.
type Recorder interface {
	RecordDelivery(ctx context.Context, r board.DeliveryRecord) error
}

// Pool runs jobs from a queue on a fixed number of goroutines. Deliveries
// wait on the network far more than they compute, so Workers is a
// concurrency level, not a core count.
type Pool struct {
	Queue    Queue
	Handlers map[string]Handler
	// Recorder stores outcomes; nil leaves them to the queue (Redis sends
	// them to serve on its results stream).
	Recorder Recorder
	Policy   RetryPolicy
	Hosts    HostPolicy
	Workers  int
	// Lease must outlast the longest job (the HTTP timeout); a job held
	// longer by a stuck or killed worker is run again.
	Lease time.Duration
	// Poll bounds how long an idle worker waits before looking for jobs
	// whose retry time has come (queues whose Reserve does not block).
	Poll    time.Duration
	Metrics *Metrics
	Log     *slog.Logger
	// DownEvery is how often a queue that stays unreachable is reported
	// again (0: a minute); its going down and coming back are reported at
	// once.
	DownEvery time.Duration

	once   sync.Once
	hosts  *hosts
	shared SharedHosts // the queue's, if it shares parkings between processes
	down   *downLog
}

// sharedRefresh is how often a pool reads the parkings of the others.
const sharedRefresh = 2 * time.Second

func (p *Pool) init() {
	p.once.Do(func() {
		p.hosts = newHosts(p.Hosts, p.Workers)
		p.shared, _ = p.Queue.(SharedHosts)
		p.down = newDownLog("the delivery queue", p.Log, p.DownEvery)
	})
}

// ParkedHosts counts the hosts this pool is not delivering to right now.
func (p *Pool) ParkedHosts() int {
	p.init()
	return p.hosts.parked(time.Now())
}

// Run works until ctx is done, then waits for the jobs in hand to finish.
func (p *Pool) Run(ctx context.Context) {
	p.init()
	var wg sync.WaitGroup
	if p.shared != nil {
		// The others' parkings hold from the first job on (a worker
		// started while a host is parked must not try it); an unreachable
		// Redis only delays the start by the read's timeout.
		readCtx, cancel := context.WithTimeout(ctx, sharedRefresh)
		p.readParkingsOnce(readCtx)
		cancel()
		wg.Go(func() { p.readParkings(ctx) })
	}
	for i := range p.Workers {
		wg.Go(func() { p.work(ctx, i) })
	}
	wg.Wait()
	// Jobs a queue read ahead for workers that have now stopped go back,
	// so that no job waits for its lease to run out after a clean stop.
	if r, ok := p.Queue.(interface{ Release(context.Context) error }); ok {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.Release(rctx); err != nil {
			p.Log.Warn("hand back read-ahead jobs", "err", err)
		}
	}
}

// readParkings takes in the other processes' parkings until ctx is done.
func (p *Pool) readParkings(ctx context.Context) {
	t := time.NewTicker(jitter(sharedRefresh))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.readParkingsOnce(ctx)
	}
}

func (p *Pool) readParkingsOnce(ctx context.Context) {
	taken := time.Now()
	parked, err := p.shared.ParkedHosts(ctx, taken)
	if err != nil {
		if ctx.Err() == nil {
			p.Log.Debug("read shared host parkings", "err", err)
		}
		return
	}
	p.hosts.merge(parked, taken, time.Now())
}

// tellOthers passes a parking or un-parking on to the other processes.
// Failing that, each process learns about the host on its own, as without
// sharing.
func (p *Pool) tellOthers(ctx context.Context, log *slog.Logger, host string, park time.Time, unpark bool) {
	if p.shared == nil {
		return
	}
	switch {
	case !park.IsZero():
		if err := p.shared.ParkHost(ctx, host, park); err != nil {
			log.Warn("share host parking", "host", host, "err", err)
			return
		}
		p.hosts.shared(host, time.Now())
	case unpark:
		if err := p.shared.UnparkHost(ctx, host); err != nil {
			log.Warn("share host un-parking", "host", host, "err", err)
		}
	}
}

func (p *Pool) work(ctx context.Context, n int) {
	poll := time.NewTimer(p.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		job, ok, err := p.Queue.Reserve(ctx, p.Lease)
		if err == nil {
			p.down.ok(ctx)
		}
		if err != nil && ctx.Err() == nil {
			// Every worker fails at once while Redis restarts: one line
			// says so, then one a minute (issue 23: 846 lines in 72 s).
			p.down.failed(ctx, err)
			// The queue is unreachable (Redis restarting): do not spin.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if !ok {
			if wake := p.Queue.Wake(); wake != nil {
				poll.Reset(p.Poll)
				select {
				case <-ctx.Done():
				case <-wake:
				case <-poll.C:
				}
			}
			continue
		}
		// A job in hand finishes and is recorded even during shutdown, so
		// the work done is not repeated after a restart.
		p.run(context.WithoutCancel(ctx), job)
	}
}

func (p *Pool) run(ctx context.Context, job Job) {
	log := p.Log.With("job", job.ID, "attempt", job.Attempts)
	host := ""
	if job.Target != "" {
		host = HostOf(job.Target)
		if ok, until := p.hosts.acquire(host, time.Now()); !ok {
			p.postpone(ctx, log, job, until)
			return
		}
	}
	h, ok := p.Handlers[job.Kind]
	var err error
	start := time.Now()
	if !ok {
		err = Permanent(fmt.Errorf("%w %q", ErrUnknownKind, job.Kind))
	} else {
		err = safeHandle(ctx, h, job)
		p.Metrics.observe(job.Kind, time.Since(start))
	}
	var wait *WaitError
	if errors.As(err, &wait) {
		if host != "" {
			p.hosts.release(host, hostUnknown, 0, time.Now())
		}
		log.Debug("delivery waits", "target", job.Target, "reason", wait.Reason)
		p.postpone(ctx, log, job, time.Now().Add(wait.After))
		return
	}
	var hint time.Duration
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		hint = ra.After
	}
	var perm *PermanentError
	isPerm := errors.As(err, &perm)
	if host != "" {
		o := hostOK
		var local *LocalError
		switch {
		case errors.As(err, &local):
			o = hostUnknown
		case hint > 0:
			o = hostBackoff
		case err != nil && !isPerm:
			o = hostFailed
		}
		park, unpark := p.hosts.release(host, o, hint, time.Now())
		p.tellOthers(ctx, log, host, park, unpark)
	}
	if err == nil {
		p.record(ctx, log, &job, board.DeliveryDelivered, "")
		p.Metrics.outcome(job.Kind, "delivered")
		if err := p.Queue.Ack(ctx, job); err != nil {
			log.Error("ack job", "err", err)
		}
		return
	}
	msg := err.Error()
	if isPerm {
		log.Warn("delivery given up", "target", job.Target, "err", msg)
		p.bury(ctx, log, job, msg)
		return
	}
	at, ok := p.Policy.Next(job.Attempts, job.CreatedAt, time.Now(), hint)
	if !ok {
		log.Warn("delivery given up: retry window over", "target", job.Target, "err", msg)
		p.bury(ctx, log, job, "retry window over; last error: "+msg)
		return
	}
	log.Info("delivery failed; will retry", "target", job.Target, "at", at.Format(time.RFC3339), "err", msg)
	p.recordAt(ctx, log, &job, board.DeliveryRetrying, msg, at)
	p.Metrics.outcome(job.Kind, "retry")
	if err := p.Queue.Retry(ctx, job, at, msg); err != nil {
		log.Error("schedule retry", "err", err)
	}
}

// postpone puts a job back, uncounted, while its host is busy or parked;
// past the retry window it is given up like any other.
func (p *Pool) postpone(ctx context.Context, log *slog.Logger, job Job, until time.Time) {
	if until.After(job.CreatedAt.Add(p.Policy.Window)) {
		p.bury(ctx, log, job, "retry window over while the host was unreachable")
		return
	}
	p.Metrics.outcome(job.Kind, "postponed")
	if err := p.Queue.Postpone(ctx, job, until); err != nil {
		log.Error("postpone job", "err", err)
	}
}

func (p *Pool) bury(ctx context.Context, log *slog.Logger, job Job, msg string) {
	p.record(ctx, log, &job, board.DeliveryDead, msg)
	p.Metrics.outcome(job.Kind, "dead")
	if err := p.Queue.Bury(ctx, job, msg); err != nil {
		log.Error("bury job", "err", err)
	}
}

// record stores the outcome before the queue forgets the job: a crash in
// between repeats the job, never loses its result.
func (p *Pool) record(ctx context.Context, log *slog.Logger, job *Job, state, msg string) {
	p.recordAt(ctx, log, job, state, msg, time.Time{})
}

// recordAt is record with the time a retried delivery goes again.
func (p *Pool) recordAt(ctx context.Context, log *slog.Logger, job *Job, state, msg string, next time.Time) {
	if job.OutboxID == 0 || job.Target == "" {
		return
	}
	if p.Recorder == nil {
		job.Outcome = &Outcome{OutboxID: job.OutboxID, Target: job.Target, State: state, Attempts: job.Attempts, Error: msg, NextAttempt: next}
		return
	}
	if err := p.Recorder.RecordDelivery(ctx, board.DeliveryRecord{OutboxID: job.OutboxID, Target: job.Target, State: state, Attempts: job.Attempts, LastError: msg, NextAttempt: next}); err != nil {
		log.Error("record delivery", "err", err)
	}
}

func safeHandle(ctx context.Context, h Handler, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("handler panicked: %v", r))
		}
	}()
	return h.Handle(ctx, job)
}

// OutboxSource is the part of the store the dispatcher reads.
type OutboxSource interface {
	PendingOutbox(ctx context.Context, limit int) ([]board.OutboxEntry, error)
	MarkDispatched(ctx context.Context, id int64) error
	// MarkCoalesced marks an entry a later one replaces: dispatched, and
	// with nothing to fan out.
	MarkCoalesced(ctx context.Context, id int64) error
}

// KindFanOut is the job kind that expands one outbox entry.
const KindFanOut = "fanout"

// Dispatcher is the only path from the outbox to the queue. Running it
// again after a crash is safe: fan-out job ids are derived from the outbox id.
type Dispatcher struct {
	outbox OutboxSource
	queue  Queue
	wake   chan struct{}
	log    *slog.Logger

	// RefreshEvery spaces the refreshes of one announcement (sign-up
	// counts): a burst of answers becomes one Update, not one per answer.
	RefreshEvery time.Duration
	lastRefresh  map[int64]time.Time
	down         *downLog
}

// NewDispatcher returns a dispatcher from outbox to queue.
func NewDispatcher(outbox OutboxSource, queue Queue, log *slog.Logger) *Dispatcher {
	return &Dispatcher{outbox: outbox, queue: queue, wake: make(chan struct{}, 1), log: log,
		RefreshEvery: 5 * time.Second, lastRefresh: map[int64]time.Time{}, down: newDownLog("dispatching the outbox", log, time.Minute)}
}

// Notify wakes the dispatcher; board.Service calls it after each commit.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx is done. It also looks every few seconds, so an
// entry written by another process (the CLI) is not left behind.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		if err := d.DispatchPending(ctx); err != nil && ctx.Err() == nil {
			d.down.failed(ctx, err)
		} else if err == nil {
			d.down.ok(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// DispatchPending enqueues one fan-out job per undispatched outbox entry.
// Refreshes are coalesced: one superseded by a later refresh of the same
// announcement is dropped, and an announcement is refreshed at most once
// per RefreshEvery (the rest wait, and are looked at again then).
func (d *Dispatcher) DispatchPending(ctx context.Context) error {
	for {
		entries, err := d.outbox.PendingOutbox(ctx, 100)
		if err != nil || len(entries) == 0 {
			return err
		}
		progressed := false
		for i, e := range entries {
			if e.Verb == board.VerbRefresh {
				later := slices.ContainsFunc(entries[i+1:], func(o board.OutboxEntry) bool {
					return o.Verb == board.VerbRefresh && o.AnnouncementID == e.AnnouncementID
				})
				if later {
					if err := d.outbox.MarkCoalesced(ctx, e.ID); err != nil {
						return err
					}
					progressed = true
					continue
				}
				if wait := max(d.RefreshEvery, e.MinGap) - time.Since(d.lastRefresh[e.AnnouncementID]); wait > 0 {
					time.AfterFunc(wait, d.Notify)
					continue
				}
				d.lastRefresh[e.AnnouncementID] = time.Now()
				if len(d.lastRefresh) > 10000 {
					clear(d.lastRefresh)
				}
			}
			job := Job{ID: fmt.Sprintf("fanout:%d", e.ID), Kind: KindFanOut, OutboxID: e.ID}
			if err := d.queue.Enqueue(ctx, job); err != nil {
				return err
			}
			if err := d.outbox.MarkDispatched(ctx, e.ID); err != nil {
				return err
			}
			progressed = true
		}
		if !progressed || len(entries) < 100 {
			return nil
		}
	}
}

// Expander turns one outbox entry into delivery jobs for one kind of
// destination (ActivityPub inboxes, Matrix rooms).
type Expander interface {
	Expand(ctx context.Context, entry board.OutboxEntry) ([]Job, error)
}

// OutboxReader loads an outbox entry.
type OutboxReader interface {
	OutboxEntry(ctx context.Context, id int64) (board.OutboxEntry, error)
}

// PendingRecorder writes the rows of deliveries not tried yet, which
// marks the entry fanned out.
type PendingRecorder interface {
	AddPendingDeliveries(ctx context.Context, outboxID int64, targets []string) error
	// FanOutWaits reports whether an earlier entry of the same board is
	// handed out but not fanned out yet.
	FanOutWaits(ctx context.Context, entry board.OutboxEntry) (bool, error)
}

// FanOut handles KindFanOut jobs.
type FanOut struct {
	Outbox    OutboxReader
	Expanders []Expander
	Queue     Queue
	// Pending, if set, records every destination as pending before the
	// jobs are queued, so the deliveries endpoint shows work in flight
	// and the order of deliveries can be read from it: a board's entries
	// are then fanned out one after the other, in the order they were
	// made.
	Pending PendingRecorder
}

// fanOutWait is how soon a fan-out held up by an earlier one looks again:
// that one takes milliseconds.
const fanOutWait = 200 * time.Millisecond

// Handle implements Handler.
func (f *FanOut) Handle(ctx context.Context, job Job) error {
	entry, err := f.Outbox.OutboxEntry(ctx, job.OutboxID)
	if errors.Is(err, board.ErrNotFound) {
		return Permanent(err)
	}
	if err != nil {
		return err
	}
	if f.Pending != nil {
		// Two workers fanning out a post and its first refresh at once
		// let the refresh's Update reach a Fedify inbox before the
		// Create had a row to wait for; the Create was then dropped as
		// superseded, and the follower never saw the post.
		wait, err := f.Pending.FanOutWaits(ctx, entry)
		if err != nil {
			return err
		}
		if wait {
			return &WaitError{Reason: "an earlier post of the board is being fanned out", After: fanOutWait}
		}
	}
	var jobs []Job
	for _, x := range f.Expanders {
		js, err := x.Expand(ctx, entry)
		if err != nil {
			return fmt.Errorf("expand outbox %d: %w", entry.ID, err)
		}
		jobs = append(jobs, js...)
	}
	if f.Pending != nil {
		targets := make([]string, 0, len(jobs))
		for _, j := range jobs {
			if j.OutboxID == entry.ID && j.Target != "" {
				targets = append(targets, j.Target)
			}
		}
		if err := f.Pending.AddPendingDeliveries(ctx, entry.ID, targets); err != nil {
			return fmt.Errorf("record pending deliveries of outbox %d: %w", entry.ID, err)
		}
	}
	return f.Queue.Enqueue(ctx, jobs...)
}
