package activitypub

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// refusals counts inbox refusals by reason and logs each (reason, source)
// at most once a minute: a flood of unsigned POSTs must not fill the disk
// with log lines (14 MB in 8 s at 11,650 requests/s before), while the
// counter still shows it.
type refusals struct {
	counter *prometheus.CounterVec // nil: not exported

	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

const refusalLogEvery = time.Minute

func newRefusals(reg prometheus.Registerer) *refusals {
	r := &refusals{last: map[string]time.Time{}, suppressed: map[string]int{}}
	if reg != nil {
		r.counter = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_inbox_refused_total",
			Help: "Inbox POSTs refused, by reason (unsigned, signature, key, replay, host).",
		}, []string{"reason"})
		reg.MustRegister(r.counter)
	}
	return r
}

// reasonOf sorts a refusal into a few kinds, for the counter.
func reasonOf(r *http.Request, err error) string {
	msg := err.Error()
	switch {
	case r.Header.Get("Signature") == "" && r.Header.Get("Signature-Input") == "":
		return "unsigned"
	case strings.Contains(msg, "replay"):
		return "replay"
	case strings.Contains(msg, "is for host"):
		return "host"
	case strings.Contains(msg, ": key "):
		return "key"
	}
	return "signature"
}

// note counts a refusal and says whether to log it now, and how many like
// it were not logged since the last time.
func (f *refusals) note(r *http.Request, err error, now time.Time) (reason string, log bool, suppressed int) {
	reason = reasonOf(r, err)
	if f.counter != nil {
		f.counter.WithLabelValues(reason).Inc()
	}
	src, _, splitErr := net.SplitHostPort(r.RemoteAddr)
	if splitErr != nil {
		src = r.RemoteAddr
	}
	key := reason + " " + src
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.last[key]) < refusalLogEvery {
		f.suppressed[key]++
		return reason, false, 0
	}
	if len(f.last) > 10000 {
		clear(f.last)
		clear(f.suppressed)
	}
	f.last[key] = now
	suppressed = f.suppressed[key]
	delete(f.suppressed, key)
	return reason, true, suppressed
}
