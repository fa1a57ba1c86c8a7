package session_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/session"
)

// handshake sends a WebSocket upgrade request by hand, so that the
// answer to a refused one can be read whole.
func handshake(t *testing.T, s *server, origin string, protocols ...string) (status int, body map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(testenv.Context(t), http.MethodGet, "http"+strings.TrimPrefix(s.URL, "ws"), nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if len(protocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(protocols, ", "))
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, nil
	}
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.NoError(t, json.Unmarshal(raw, &body), "the refusal is the JSON envelope: %s", raw)
	return resp.StatusCode, body
}

// metricValue sums the values of the counter name over its labels.
func metricValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, s := range mf.GetMetric() {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestOriginRules: which pages may open a session, in the default
// (same origin), with --allowed-origin patterns, and with loopback
// origins allowed (the development default: no authentication, a
// loopback listener). A refusal is the JSON envelope, logged at info
// with its reason, and counted.
func TestOriginRules(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	tests := []struct {
		name     string
		patterns []string
		loopback bool
		origin   string
		allowed  bool
	}{
		{"no origin: not a browser", nil, false, "", true},
		{"same origin", nil, false, "http://SELF", true},
		{"another loopback port, by default", nil, false, "http://127.0.0.1:5173", false},
		{"another loopback port, loopback allowed", nil, true, "http://127.0.0.1:5173", true},
		{"localhost, loopback allowed", nil, true, "http://localhost:8080", true},
		{"ipv6 loopback, loopback allowed", nil, true, "http://[::1]:8080", true},
		{"another site, loopback allowed", nil, true, "https://evil.example.net", false},
		{"a file page, loopback allowed", nil, true, "null", false},
		{"a pattern", []string{"*.example.com"}, false, "https://app.example.com", true},
		{"a pattern with a port", []string{"app.example.com:8443"}, false, "https://app.example.com:8443", true},
		{"a pattern with a scheme", []string{"https://app.example.com"}, false, "http://app.example.com", false},
		{"not matching the pattern", []string{"*.example.com"}, false, "https://example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.LogBuffer
			m := metrics.New("test")
			s := startServer(t, http1, session.Options{
				Broker: env.Bridge, OriginPatterns: tt.patterns, AllowLoopbackOrigins: tt.loopback, Metrics: m,
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			origin := strings.Replace(tt.origin, "SELF", strings.TrimPrefix(s.URL, "ws://"), 1)
			status, body := handshake(t, s, origin, "httpmq.v1.json")
			if tt.allowed {
				require.Equal(t, http.StatusSwitchingProtocols, status, "%v", body)
				return
			}
			require.Equal(t, http.StatusForbidden, status)
			assert.Equal(t, false, body["success"])
			e, _ := body["error"].(map[string]any)
			assert.Contains(t, []any{"forbidden", float64(http.StatusForbidden)}, e["code"])
			assert.Contains(t, e["detail"], "--allowed-origin")
			assert.Contains(t, logs.String(), `"level":"INFO","msg":"WebSocket handshake refused","reason":"forbidden"`)
			assert.Equal(t, 1.0, metricValue(t, m, "httpmq_session_handshakes_refused_total"))
		})
	}
}

// TestHandshakeRefusalsAreEnvelopes: every refused handshake is answered
// in JSON, logged and counted, whatever refused it.
func TestHandshakeRefusalsAreEnvelopes(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	var logs testenv.LogBuffer
	m := metrics.New("test")
	s := startServer(t, http1, session.Options{Broker: env.Bridge, Gate: jwtGate(t), Metrics: m,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	status, _ := handshake(t, s, "", "httpmq.v1.json")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = handshake(t, s, "https://evil.example.net", "httpmq.v1.json")
	assert.Equal(t, http.StatusForbidden, status)

	open := startServer(t, http1, session.Options{Broker: env.Bridge, Metrics: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	status, _ = handshake(t, open, "", "chat.v2")
	assert.Equal(t, http.StatusBadRequest, status)
	for _, reason := range []string{"unauthorized", "forbidden", "bad_request"} {
		assert.Contains(t, logs.String(), `"msg":"WebSocket handshake refused","reason":"`+reason+`"`)
	}
	assert.Equal(t, 3, testutil.CollectAndCount(m.Registry(), "httpmq_session_handshakes_refused_total"))

	c, _, err := dialWith(t, open, []string{"httpmq.v1.json"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1.0, metricValue(t, m, "httpmq_sessions_opened_total"))
	require.NoError(t, c.conn.CloseNow())
	require.Eventually(t, func() bool { return metricValue(t, m, "httpmq_sessions_closed_total") == 1 },
		10*time.Second, 10*time.Millisecond)
}
