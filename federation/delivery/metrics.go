package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery figures exported on /metrics.
type Metrics struct {
	Outcomes *prometheus.CounterVec   // by kind and result
	Latency  *prometheus.HistogramVec // by kind, for attempts that reached the handler
}

// NewMetrics registers the delivery metrics, and a queue-depth gauge read
// from q's Stats at scrape time, with reg.
func NewMetrics(reg prometheus.Registerer, q Queue) *Metrics {
	m := &Metrics{
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crieur_delivery_attempts_total",
			Help: "Delivery job attempts by kind and result (delivered, retry, dead, postponed).",
		}, []string{"kind", "result"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crieur_delivery_duration_seconds",
			Help:    "Time a delivery job's handler took.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	reg.MustRegister(m.Outcomes, m.Latency)
	if q != nil {
		reg.MustRegister(&queueCollector{q: q, desc: prometheus.NewDesc("crieur_queue_jobs", "Jobs in the delivery queue by state.", []string{"state"}, nil)})
	}
	return m
}

func (m *Metrics) outcome(kind, result string) {
	if m != nil {
		m.Outcomes.WithLabelValues(kind, result).Inc()
	}
}

func (m *Metrics) observe(kind string, d time.Duration) {
	if m != nil {
		m.Latency.WithLabelValues(kind).Observe(d.Seconds())
	}
}

// queueCollector exports the queue's counts from a snapshot at most
// queueStatsEvery old: a scrape costs nothing, however often it comes,
// and counting a large queue table happens a few times a minute at most.
type queueCollector struct {
	q    Queue
	desc *prometheus.Desc

	mu    sync.Mutex
	at    time.Time
	stats map[string]int
	err   error
}

const queueStatsEvery = 10 * time.Second

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= queueStatsEvery {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c.stats, c.err = c.q.Stats(ctx)
		cancel()
		c.at = time.Now()
	}
	st, err := c.stats, c.err
	c.mu.Unlock()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for state, n := range st {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
