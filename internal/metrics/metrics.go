// Package metrics is httpmq's Prometheus instrumentation: one registry
// per server, the metrics it holds, and small recording methods the
// packages that do the work call.
//
// Start with [New]; pass the *Metrics to the packages that record
// through their Options, and serve [Metrics.Handler] at /metrics. A nil
// *Metrics is valid everywhere and records nothing, so tests and callers
// that do not care pass nil.
//
// There is no global state: no default registry, no init(). Labels have
// bounded values only (transport, outcome, ack kind, limit, state); never
// stream, consumer or subject names, which clients choose. Outcomes are
// "ok", "duplicate", or the error's stable reason (protocol.Code), a
// closed set. docs/operations.md lists every metric.
package metrics

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/httpmq/httpmq/internal/httpx"
)

const namespace = "httpmq"

// Transport says which API a client used: the REST dataplane or a
// WebSocket session.
type Transport string

// The transports, values of the "transport" label.
const (
	REST    Transport = "rest"
	Session Transport = "session"
)

// Outcomes of a publish or an ack that succeeded (label "outcome"); a
// failure's outcome is its error reason (protocol.Code).
const (
	OutcomeOK        = "ok"
	OutcomeDuplicate = "duplicate"
)

// Outcomes of a delivery (label "outcome").
const (
	OutcomeDelivered   = "delivered"   // first delivery of the message to this consumer
	OutcomeRedelivered = "redelivered" // JetStream delivered it before (deliveries > 1)
)

// Metrics holds the registry and every httpmq metric. Its methods may be
// called concurrently, and on a nil *Metrics (they do nothing then).
type Metrics struct {
	reg *prometheus.Registry

	publishes       *prometheus.CounterVec
	publishDuration *prometheus.HistogramVec
	acks            *prometheus.CounterVec
	ackDuration     *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
	slowClients     *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	sessionsOpened  prometheus.Counter
	sessionsClosed  prometheus.Counter
	refused         *prometheus.CounterVec
	natsState       *prometheus.GaugeVec
	natsReconnects  prometheus.Counter

	mu        sync.Mutex
	lastState string
	gauges    *gaugeSet
}

// latencyBuckets span a local JetStream round trip (well under a
// millisecond) to the request timeout (seconds).
var latencyBuckets = prometheus.ExponentialBuckets(0.00025, 2, 15) // 250µs … 4.1s

// New returns the metrics of one server, registered in a registry of
// their own together with the Go runtime and process collectors.
// version is the build's version (the httpmq_build_info label).
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "publishes_total",
			Help: "Publish requests answered, by transport and outcome (ok, duplicate, or the error reason).",
		}, []string{"transport", "outcome"}),
		publishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "publish_duration_seconds",
			Help:    "Time from a publish request to JetStream's answer, by transport.",
			Buckets: latencyBuckets,
		}, []string{"transport"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "acks_total",
			Help: "Acknowledgements (ack, nak, term, progress) answered, by transport, kind and outcome.",
		}, []string{"transport", "kind", "outcome"}),
		ackDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ack_duration_seconds",
			Help:    "Time from a confirmed acknowledgement to JetStream's answer, by transport and kind.",
			Buckets: latencyBuckets,
		}, []string{"transport", "kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "deliveries_total",
			Help: "Messages handed to subscribers, by transport and outcome (delivered, redelivered).",
		}, []string{"transport", "outcome"}),
		slowClients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slow_client_disconnects_total",
			Help: "Subscribers disconnected because they did not read fast enough, by transport.",
		}, []string{"transport"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused by a per-identity quota, by limit (publish_messages, publish_bytes, sessions).",
		}, []string{"limit"}),
		sessionsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "sessions_opened_total",
			Help: "WebSocket sessions opened (handshake accepted).",
		}),
		sessionsClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "sessions_closed_total",
			Help: "WebSocket sessions ended.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "session_handshakes_refused_total",
			Help: "WebSocket handshakes refused, by reason (the error reason: forbidden_origin, unauthorized, bad_request, …).",
		}, []string{"reason"}),
		natsState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "nats_connection_state",
			Help: "1 for the current state of the NATS connection (connecting, connected, reconnecting, closed), 0 for the others.",
		}, []string{"state"}),
		natsReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "nats_reconnects_total",
			Help: "Times the NATS connection was re-established after being lost.",
		}),
		gauges: newGaugeSet(),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which httpmq build runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, s := range natsStates {
		m.natsState.WithLabelValues(s).Set(0)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, m.publishes, m.publishDuration, m.acks, m.ackDuration, m.deliveries,
		m.slowClients, m.rateLimited, m.sessionsOpened, m.sessionsClosed, m.refused,
		m.natsState, m.natsReconnects, m.gauges,
	)
	return m
}

// Registry is where every metric is registered, for tests and for
// serving with other handlers.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format. On a nil *Metrics it answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// outcome is the "outcome" label of a publish or ack: ok, duplicate, or
// err's reason.
func outcome(duplicate bool, err error) string {
	switch {
	case err != nil:
		return string(httpx.Classify(err).Code)
	case duplicate:
		return OutcomeDuplicate
	}
	return OutcomeOK
}

// Published records a publish answered after d: duplicate when
// JetStream had stored the message id before, err when it failed
// (refusals before JetStream was asked included: forbidden, rate_limited,
// payload_too_large…). The latency is observed only for publishes that
// reached JetStream: pass d <= 0 for the others.
func (m *Metrics) Published(t Transport, d time.Duration, duplicate bool, err error) {
	if m == nil {
		return
	}
	m.publishes.WithLabelValues(string(t), outcome(duplicate, err)).Inc()
	if d > 0 {
		m.publishDuration.WithLabelValues(string(t)).Observe(d.Seconds())
	}
}

// Acked records an acknowledgement of kind ("ack", "nak", "term",
// "progress") answered after d: duplicate when the delivery had already
// been acked, err when it failed (ack_not_pending, consumer_not_found…).
// Pass d <= 0 for a fire-and-forget ack, whose JetStream answer nobody
// waits for: it is counted, its latency is not observed.
func (m *Metrics) Acked(t Transport, kind string, d time.Duration, duplicate bool, err error) {
	if m == nil {
		return
	}
	m.acks.WithLabelValues(string(t), kind, outcome(duplicate, err)).Inc()
	if d > 0 {
		m.ackDuration.WithLabelValues(string(t), kind).Observe(d.Seconds())
	}
}

// Delivered records a message handed to a subscriber; redelivered when
// JetStream had delivered it before (its delivery count is above 1).
func (m *Metrics) Delivered(t Transport, redelivered bool) {
	if m == nil {
		return
	}
	o := OutcomeDelivered
	if redelivered {
		o = OutcomeRedelivered
	}
	m.deliveries.WithLabelValues(string(t), o).Inc()
}

// SlowClientDisconnect records a subscriber dropped for not reading: a
// session closed with 4000 slow_consumer, a REST stream whose write
// timed out.
func (m *Metrics) SlowClientDisconnect(t Transport) {
	if m == nil {
		return
	}
	m.slowClients.WithLabelValues(string(t)).Inc()
}

// RateLimited records a refusal by a per-identity quota. what is
// auth.RateLimitError.What ("publish messages", "publish bytes",
// "sessions"); the label writes it with underscores.
func (m *Metrics) RateLimited(what string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(labelValue(what)).Inc()
}

// SessionOpened records an accepted WebSocket handshake.
func (m *Metrics) SessionOpened() {
	if m == nil {
		return
	}
	m.sessionsOpened.Inc()
}

// SessionClosed records the end of a session SessionOpened counted.
func (m *Metrics) SessionClosed() {
	if m == nil {
		return
	}
	m.sessionsClosed.Inc()
}

// HandshakeRefused records a WebSocket handshake answered with an error
// instead of a session; reason is the error's reason (protocol.Code):
// forbidden_origin, unauthorized, bad_request, too_many_sessions,
// rate_limited…
func (m *Metrics) HandshakeRefused(reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(reason).Inc()
}

// NATSState records the NATS connection's new state (connecting,
// connected, reconnecting, closed: bridge.ConnState's values). Going
// from reconnecting to connected counts a reconnect.
func (m *Metrics) NATSState(state string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if state == "connected" && m.lastState == "reconnecting" {
		m.natsReconnects.Inc()
	}
	if m.lastState != "" {
		m.natsState.WithLabelValues(m.lastState).Set(0)
	}
	m.natsState.WithLabelValues(state).Set(1)
	m.lastState = state
}

// natsStates are the values of httpmq_nats_connection_state's label.
var natsStates = []string{"connecting", "connected", "reconnecting", "closed"}

func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ' ' || c == '-' || c == '.' {
			b[i] = '_'
		}
	}
	return string(b)
}
