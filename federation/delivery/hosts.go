package delivery

import (
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
}

// hosts tracks per-host state in one worker process. Each `crieur deliver`
// keeps its own; a host failing for one process fails for all soon enough.
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

// release records how a job for host ended.
func (h *hosts) release(host string, o outcome, wait time.Duration, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.m[host]
	st.active--
	st.started = st.started[1:] // which one ended does not matter: the oldest bounds the wait
	st.probing = false          // a probe that never went out (hostUnknown): the next job probes
	switch o {
	case hostOK:
		st.failures, st.parks, st.parkedUntil = 0, 0, time.Time{}
		st.lastOK = now
	case hostBackoff:
		if until := now.Add(wait); until.After(st.parkedUntil) {
			st.parkedUntil = until
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
		}
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
