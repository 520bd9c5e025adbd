package delivery

import (
	"context"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"
)

// HostPolicy keeps one host from slowing the others: a cap on concurrent
// deliveries to it, and parking after repeated failures.
//
// The numbers sit between the anchors: GoToSocial gives up on a host after
// about 4 minutes of failures, Mastodon keeps trying for days and only
// drops a domain after failures on 7 distinct days. Crieur parks a host
// after 5 failures in a row (its jobs wait, nothing is dropped), probes it
// with a single job after 1 minute, then 2, 4... up to 1 hour, and a single
// success un-parks it, as in Mastodon.
//
// Worker processes that share a queue (SharedHosts, which the Redis queue
// provides) share their parkings: a host one of them parks waits for all
// of them, and a success anywhere un-parks it everywhere, as Mastodon's
// failure tracker in Redis does for its Sidekiq processes.
//
// A host not reached in the last ten minutes starts with two deliveries at
// a time (like TCP's slow start): a host that hangs then ties up two
// workers, not Limit of them, while a healthy one gets its full share as
// soon as one delivery succeeds.
type HostPolicy struct {
	Limit     int           // concurrent deliveries per host; 0: a quarter of the pool's workers (at least 2)
	ParkAfter int           // consecutive failures before the host is parked
	ParkBase  time.Duration // first parking period; doubles per failed probe
	ParkMax   time.Duration
}

// DefaultHostPolicy is what `crieur serve` and `crieur deliver` use.
var DefaultHostPolicy = HostPolicy{ParkAfter: 5, ParkBase: time.Minute, ParkMax: time.Hour}

type hostState struct {
	lastOK      time.Time // last success; zero: none lately
	active      int
	started     []time.Time // start times of the deliveries in flight
	failures    int
	parks       int
	parkedUntil time.Time
	probing     bool
	// sharedSince is when the shared parkings last held this host's
	// parking, as far as this process knows: from then on, a snapshot of
	// them without it means another process un-parked the host.
	sharedSince time.Time
}

// SharedHosts holds the parkings of the worker processes that share a
// queue, so that what one learns about a host holds for all of them.
type SharedHosts interface {
	// ParkHost parks host until the given time, unless it is parked longer.
	ParkHost(ctx context.Context, host string, until time.Time) error
	UnparkHost(ctx context.Context, host string) error
	// ParkedHosts lists the hosts parked after now.
	ParkedHosts(ctx context.Context, now time.Time) (map[string]time.Time, error)
}

// hosts tracks per-host state in one worker process; with SharedHosts,
// parkings are also exchanged with the other processes.
type hosts struct {
	p      HostPolicy
	mu     sync.Mutex
	m      map[string]*hostState
	pruned time.Time
}

const (
	startLimit = 2                // deliveries at a time to a host with no recent success
	recentOK   = 10 * time.Minute // how long a success vouches for a host
)

// newHosts applies p for a pool of workers.
func newHosts(p HostPolicy, workers int) *hosts {
	if p.Limit <= 0 {
		// A hanging host then ties up at most a quarter of the workers
		// until it is parked, and a busy healthy one rarely waits.
		p.Limit = max(2, workers/4)
	}
	if p.ParkAfter <= 0 {
		p.ParkAfter = DefaultHostPolicy.ParkAfter
	}
	if p.ParkBase <= 0 {
		p.ParkBase = DefaultHostPolicy.ParkBase
	}
	if p.ParkMax < p.ParkBase {
		p.ParkMax = max(p.ParkBase, DefaultHostPolicy.ParkMax)
	}
	return &hosts{p: p, m: map[string]*hostState{}}
}

// HostOf is the part of a target that fairness and parking apply to.
func HostOf(target string) string {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		return strings.ToLower(u.Host)
	}
	return target
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// acquire reports whether a job for host may run now; if not, when to look
// again.
func (h *hosts) acquire(host string, now time.Time) (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prune(now)
	st := h.m[host]
	if st == nil {
		st = &hostState{}
		h.m[host] = st
	}
	limit := h.p.Limit
	if now.Sub(st.lastOK) > recentOK {
		limit = min(limit, startLimit)
	}
	switch {
	case st.parkedUntil.After(now):
		return false, st.parkedUntil.Add(jitter(time.Second) - time.Second)
	case st.failures >= h.p.ParkAfter:
		// Parking is over: one probe goes, the rest wait for its outcome.
		if st.probing {
			return false, now.Add(jitter(min(h.p.ParkBase, 5*time.Second)))
		}
		st.probing = true
	case st.active >= limit:
		// Look again after about as long as the oldest delivery in flight
		// has taken so far: soon for a busy but quick host, rarely for one
		// that hangs, whose jobs would otherwise cycle through the queue.
		wait := min(max(now.Sub(st.started[0]), 100*time.Millisecond), 30*time.Second)
		return false, now.Add(jitter(wait))
	}
	st.active++
	st.started = append(st.started, now)
	return true, time.Time{}
}

type outcome int

const (
	hostOK      outcome = iota // delivered, or refused for good: the host is up
	hostFailed                 // timeout, connection error, 5xx
	hostBackoff                // the host asked us to wait (Retry-After)
	hostUnknown                // the job failed before reaching the host
)

// release records how a job for host ended. It returns the time the host
// is now parked until, if this outcome parked it (or parked it longer),
// and whether it un-parked a host that had been failing: what the other
// processes should hear.
func (h *hosts) release(host string, o outcome, wait time.Duration, now time.Time) (park time.Time, unpark bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[host]
	st.active--
	st.started = st.started[1:] // which one ended does not matter: the oldest bounds the wait
	st.probing = false          // a probe that never went out (hostUnknown): the next job probes
	switch o {
	case hostOK:
		unpark = st.failures > 0 || !st.parkedUntil.IsZero()
		st.failures, st.parks, st.parkedUntil, st.sharedSince = 0, 0, time.Time{}, time.Time{}
		st.lastOK = now
	case hostBackoff:
		if until := now.Add(wait); until.After(st.parkedUntil) {
			st.parkedUntil = until
			park = until
		}
	case hostFailed:
		st.failures++
		if st.failures >= h.p.ParkAfter {
			d := h.p.ParkBase
			for i := 0; i < st.parks && d < h.p.ParkMax; i++ {
				d *= 2
			}
			st.parks++
			st.parkedUntil = now.Add(min(d, h.p.ParkMax))
			park = st.parkedUntil
		}
	}
	return park, unpark
}

// shared notes that the shared parkings hold host's parking as of at.
func (h *hosts) shared(host string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.m[host]; st != nil && st.parkedUntil.After(at) {
		st.sharedSince = at
	}
}

// merge takes in a snapshot of the shared parkings, read from Redis at
// taken: hosts parked there wait here too (and, their parking over, are
// probed by one job), and hosts whose shared parking has gone since this
// process last saw it there were un-parked by a success elsewhere.
func (h *hosts) merge(parked map[string]time.Time, taken, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for host, until := range parked {
		st := h.m[host]
		if st == nil {
			st = &hostState{}
			h.m[host] = st
		}
		if until.After(st.parkedUntil) {
			st.parkedUntil = until
			st.failures = max(st.failures, h.p.ParkAfter)
		}
		st.sharedSince = taken
	}
	for host, st := range h.m {
		if _, ok := parked[host]; ok || st.sharedSince.IsZero() || !st.sharedSince.Before(taken) {
			continue
		}
		if st.parkedUntil.After(now) {
			st.failures, st.parks, st.parkedUntil = 0, 0, time.Time{}
		}
		st.sharedSince = time.Time{}
	}
}

// prune forgets, once a minute, the hosts that are idle, healthy and not
// reached lately, so the map holds only the hosts that matter.
func (h *hosts) prune(now time.Time) {
	if now.Sub(h.pruned) < time.Minute {
		return
	}
	h.pruned = now
	for host, st := range h.m {
		if st.active == 0 && st.failures == 0 && !st.parkedUntil.After(now) && now.Sub(st.lastOK) > recentOK {
			delete(h.m, host)
		}
	}
}

// parked counts the hosts parked now.
func (h *hosts) parked(now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, st := range h.m {
		if st.parkedUntil.After(now) {
			n++
		}
	}
	return n
}
