package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Clients tells where a request comes from: the connection's address, or,
// when that is a proxy the operator trusts, the address the proxy saw.
// X-Forwarded-For is read here and nowhere else.
type Clients struct {
	Trusted []netip.Prefix
}

// LoopbackProxies is the default trust: a proxy on the same machine (the
// usual TLS-terminating one). Only local programs reach a listener on
// loopback, and they could not pretend anything they cannot already do.
var LoopbackProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func (c Clients) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Addr is the client's address: the connection's, unless that is a
// trusted proxy; then the right-most address in X-Forwarded-For that is
// not itself a trusted proxy (the left ones are the client's to write).
func (c Clients) Addr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap()
	if !c.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled header: the last trusted hop is what we know
		}
		addr = hop.Unmap()
		if !c.trusted(addr) {
			break
		}
	}
	return addr
}

// Network names the client's network for a per-client allowance: its
// IPv4 address, or the /64 of its IPv6 address (what one household, or
// one phone, is given).
func (c Clients) Network(r *http.Request) string {
	a := c.Addr(r)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Allowance is a token bucket per key (a client's network, a remote
// host): a burst at once, then a steady rate. Keys unused for long are
// forgotten, so a flood of keys cannot grow it without bound.
type Allowance struct {
	perSec rate.Limit
	burst  int

	mu   sync.Mutex
	keys map[string]*rate.Limiter
	max  int
	// last is the latest time taken at: callers on several goroutines
	// read the clock before they get here, and a limiter handed an
	// earlier time after a later one counts the time between twice.
	last time.Time
}

// NewAllowance allows burst at once and perSec after that, per key.
func NewAllowance(perSec rate.Limit, burst int) *Allowance {
	return &Allowance{perSec: perSec, burst: burst, keys: map[string]*rate.Limiter{}, max: 100_000}
}

// Take takes one from key's allowance at now. When none is left it takes
// nothing and says how long until one is.
func (a *Allowance) Take(key string, now time.Time) (wait time.Duration, ok bool) {
	a.mu.Lock()
	l, found := a.keys[key]
	if !found {
		if len(a.keys) >= a.max {
			a.forgetFull(now)
		}
		l = rate.NewLimiter(a.perSec, a.burst)
		a.keys[key] = l
	}
	if now.Before(a.last) {
		now = a.last
	}
	a.last = now
	// Under the lock, so that times reach the limiters in order.
	defer a.mu.Unlock()
	res := l.ReserveN(now, 1)
	if !res.OK() {
		return time.Hour, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// forgetFull drops the keys whose allowance is whole again (they would
// start afresh anyway), or all of them if none is.
func (a *Allowance) forgetFull(now time.Time) {
	for k, l := range a.keys {
		if l.TokensAt(now) >= float64(a.burst) {
			delete(a.keys, k)
		}
	}
	if len(a.keys) >= a.max {
		clear(a.keys)
	}
}
