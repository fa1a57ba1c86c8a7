package metrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/metrics"
)

// touched is a Metrics with every series recorded at least once and
// every gauge observed, so that gathering it lists every metric.
func touched(t *testing.T) *metrics.Metrics {
	t.Helper()
	m := metrics.New("v1.2.3")
	for _, tr := range []metrics.Transport{metrics.REST, metrics.Session} {
		m.Published(tr, time.Millisecond, false, nil)
		m.Published(tr, time.Millisecond, true, nil)
		m.Published(tr, 0, false, bridge.ErrNoStreamForSubject)
		for _, kind := range []string{"ack", "nak", "term", "progress"} {
			m.Acked(tr, kind, time.Millisecond, false, nil)
		}
		m.Acked(tr, "ack", 0, false, bridge.ErrConsumerNotFound)
		m.Delivered(tr, false)
		m.Delivered(tr, true)
		m.SlowClientDisconnect(tr)
		m.Observe(metrics.Subscriptions, tr, func() int { return 2 })
		m.Observe(metrics.InFlight, tr, func() int { return 3 })
		m.Observe(metrics.QueuedBytes, tr, func() int { return 4 })
	}
	m.Observe(metrics.SessionsOpen, "", func() int { return 1 })
	m.RateLimited((&auth.RateLimitError{What: "publish messages"}).What)
	m.SessionOpened()
	m.SessionClosed()
	m.HandshakeRefused("forbidden_origin")
	m.NATSState("connecting")
	m.NATSState("connected")
	return m
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	assert.NotPanics(t, func() {
		m.Published(metrics.REST, time.Second, false, nil)
		m.Acked(metrics.Session, "ack", time.Second, false, nil)
		m.Delivered(metrics.REST, true)
		m.SlowClientDisconnect(metrics.Session)
		m.RateLimited("sessions")
		m.SessionOpened()
		m.SessionClosed()
		m.HandshakeRefused("unauthorized")
		m.NATSState("connected")
		m.Observe(metrics.SessionsOpen, "", func() int { return 1 })
	})
	assert.Nil(t, m.Registry())
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestRecording(t *testing.T) {
	m := metrics.New("dev")
	m.Published(metrics.REST, 2*time.Millisecond, false, nil)
	m.Published(metrics.REST, 2*time.Millisecond, false, nil)
	m.Published(metrics.Session, time.Millisecond, true, nil)
	m.Published(metrics.Session, 0, false, &auth.RateLimitError{What: "publish bytes", RetryAfter: time.Second})
	m.Published(metrics.REST, time.Millisecond, false, errors.New("something nobody classified"))
	m.Acked(metrics.REST, "nak", time.Millisecond, false, nil)
	m.Acked(metrics.Session, "ack", 0, true, nil)
	m.RateLimited("publish bytes")
	m.RateLimited("sessions")

	expect := `
# HELP httpmq_publishes_total Publish requests answered, by transport and outcome (ok, duplicate, or the error reason).
# TYPE httpmq_publishes_total counter
httpmq_publishes_total{outcome="duplicate",transport="session"} 1
httpmq_publishes_total{outcome="internal",transport="rest"} 1
httpmq_publishes_total{outcome="ok",transport="rest"} 2
httpmq_publishes_total{outcome="rate_limited",transport="session"} 1
# HELP httpmq_acks_total Acknowledgements (ack, nak, term, progress) answered, by transport, kind and outcome.
# TYPE httpmq_acks_total counter
httpmq_acks_total{kind="ack",outcome="duplicate",transport="session"} 1
httpmq_acks_total{kind="nak",outcome="ok",transport="rest"} 1
# HELP httpmq_rate_limited_total Requests refused by a per-identity quota, by limit (publish_messages, publish_bytes, sessions).
# TYPE httpmq_rate_limited_total counter
httpmq_rate_limited_total{limit="publish_bytes"} 1
httpmq_rate_limited_total{limit="sessions"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(expect),
		"httpmq_publishes_total", "httpmq_acks_total", "httpmq_rate_limited_total"))
	// Latency only for what reached JetStream: 3 REST publishes, 1 session.
	assert.Equal(t, 2, testutil.CollectAndCount(m.Registry(), "httpmq_publish_duration_seconds"))
	// The fire-and-forget ack is counted, not timed.
	assert.Equal(t, 1, testutil.CollectAndCount(m.Registry(), "httpmq_ack_duration_seconds"))
}

func TestNATSStateAndReconnects(t *testing.T) {
	m := metrics.New("dev")
	for _, s := range []string{"connecting", "connected", "reconnecting", "connected", "reconnecting", "connected", "closed"} {
		m.NATSState(s)
	}
	expect := `
# HELP httpmq_nats_connection_state 1 for the current state of the NATS connection (connecting, connected, reconnecting, closed), 0 for the others.
# TYPE httpmq_nats_connection_state gauge
httpmq_nats_connection_state{state="closed"} 1
httpmq_nats_connection_state{state="connected"} 0
httpmq_nats_connection_state{state="connecting"} 0
httpmq_nats_connection_state{state="reconnecting"} 0
# HELP httpmq_nats_reconnects_total Times the NATS connection was re-established after being lost.
# TYPE httpmq_nats_reconnects_total counter
httpmq_nats_reconnects_total 2
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(expect),
		"httpmq_nats_connection_state", "httpmq_nats_reconnects_total"))
}

func TestObservedGauges(t *testing.T) {
	m := metrics.New("dev")
	n := 0
	m.Observe(metrics.SessionsOpen, metrics.Session, func() int { n++; return n })
	m.Observe(metrics.Subscriptions, metrics.REST, func() int { return 5 })
	expect := `
# HELP httpmq_sessions_open WebSocket sessions open now.
# TYPE httpmq_sessions_open gauge
httpmq_sessions_open 1
# HELP httpmq_subscriptions_active Subscriptions open now (REST streams, session subscriptions), by transport.
# TYPE httpmq_subscriptions_active gauge
httpmq_subscriptions_active{transport="rest"} 5
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(expect),
		"httpmq_sessions_open", "httpmq_subscriptions_active", "httpmq_messages_in_flight"))
	assert.Equal(t, 1, n, "read at each scrape")
}

func TestHandlerServesEveryMetric(t *testing.T) {
	m := touched(t)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, name := range familyNames(t, m) {
		assert.Contains(t, string(body), "\n"+name, name)
	}
	assert.Contains(t, string(body), `httpmq_build_info{goversion="go`)
	assert.Contains(t, string(body), `version="v1.2.3"} 1`)
}

// familyNames are the names of every metric family m exports.
func familyNames(t *testing.T, m *metrics.Metrics) []string {
	t.Helper()
	mfs, err := m.Registry().Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return names
}
