package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Gauge names a value read from its owner at each scrape (see
// [Metrics.Observe]) rather than kept up to date by the recording
// methods: the owners (session.Handler, dataplane.Handler) already
// count these things.
type Gauge int

// The observed gauges.
const (
	// SessionsOpen: WebSocket sessions open now (httpmq_sessions_open).
	SessionsOpen Gauge = iota
	// Subscriptions: subscriptions open now, per transport
	// (httpmq_subscriptions_active).
	Subscriptions
	// InFlight: deliveries awaiting acknowledgement, per transport
	// (httpmq_messages_in_flight).
	InFlight
	// QueuedBytes: bytes waiting to be written to clients, per transport
	// (httpmq_queued_bytes).
	QueuedBytes
)

// gaugeDescs describe the observed gauges; perTransport ones carry the
// transport label.
var gaugeDescs = map[Gauge]struct {
	desc         *prometheus.Desc
	perTransport bool
}{
	SessionsOpen: {prometheus.NewDesc(namespace+"_sessions_open",
		"WebSocket sessions open now.", nil, nil), false},
	Subscriptions: {prometheus.NewDesc(namespace+"_subscriptions_active",
		"Subscriptions open now (REST streams, session subscriptions), by transport.", []string{"transport"}, nil), true},
	InFlight: {prometheus.NewDesc(namespace+"_messages_in_flight",
		"Deliveries handed to subscribers and not yet acknowledged, by transport.", []string{"transport"}, nil), true},
	QueuedBytes: {prometheus.NewDesc(namespace+"_queued_bytes",
		"Bytes waiting to be written to clients (sessions, REST streams), by transport; each client's share is bounded by --max-queued-bytes.", []string{"transport"}, nil), true},
}

type gaugeKey struct {
	g Gauge
	t Transport
}

// gaugeSet is a prometheus.Collector calling the registered functions
// at each scrape.
type gaugeSet struct {
	mu  sync.Mutex
	fns map[gaugeKey]func() int
}

func newGaugeSet() *gaugeSet { return &gaugeSet{fns: map[gaugeKey]func() int{}} }

// Describe implements prometheus.Collector.
func (s *gaugeSet) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range gaugeDescs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector.
func (s *gaugeSet) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	fns := make(map[gaugeKey]func() int, len(s.fns))
	for k, fn := range s.fns {
		fns[k] = fn
	}
	s.mu.Unlock()
	for k, fn := range fns {
		d := gaugeDescs[k.g]
		var labels []string
		if d.perTransport {
			labels = []string{string(k.t)}
		}
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.GaugeValue, float64(fn()), labels...)
	}
}

// Observe makes fn the source of gauge g (for transport t, where g has
// one; t is ignored otherwise): fn is called at each scrape, so it must
// be quick and safe for concurrent use. A gauge nobody observes is not
// exported. Observing g again replaces the function.
func (m *Metrics) Observe(g Gauge, t Transport, fn func() int) {
	if m == nil {
		return
	}
	if !gaugeDescs[g].perTransport {
		t = ""
	}
	m.gauges.mu.Lock()
	defer m.gauges.mu.Unlock()
	m.gauges.fns[gaugeKey{g, t}] = fn
}
