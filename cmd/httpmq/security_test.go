package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestListenNeedsAuthOrInsecure: non-loopback listeners need
// authentication or --insecure-listen; the embedded NATS socket always
// needs --insecure-listen (nothing authenticates it).
func TestListenNeedsAuthOrInsecure(t *testing.T) {
	key := "ci " + auth.HashAPIKey("hmq_x") + " admin=full"
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"no auth", []string{"serve", "--dataplane-addr", "0.0.0.0:0"}, false},
		{"insecure", []string{"serve", "--dataplane-addr", "0.0.0.0:0", "--insecure-listen"}, true},
		{"api key", []string{"serve", "--dataplane-addr", "0.0.0.0:0", "--management-addr", "0.0.0.0:0", "--api-key", key}, true},
		{"client CA covers management only", []string{"management", "--management-addr", "0.0.0.0:0", "--admin-client-ca", "ca.pem", "--tls-cert", "c", "--tls-key", "k"}, true},
		{"client CA needs TLS", []string{"management", "--admin-client-ca", "ca.pem"}, false},
		{"embedded NATS", []string{"serve", "--nats-embedded-listen", "0.0.0.0:4222", "--api-key", key}, false},
		{"bad api key", []string{"serve", "--api-key", "ci nothex"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, code, _, stderr := parse(t, tc.args...)
			if tc.ok {
				assert.Equal(t, 0, code, stderr)
			} else {
				assert.Equal(t, 2, code, stderr)
			}
			assert.NotContains(t, stderr, "hmq_x")
		})
	}
}

// TestDataplaneSecurity: the binary's dataplane wiring answers 401
// without a token, 429 with Retry-After over the publish rate, and CORS
// preflights for allowed origins only.
func TestDataplaneSecurity(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	_, err := env.Bridge.CreateStream(testenv.Context(t), bridge.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	require.NoError(t, err)
	cfg := defaultConfig()
	cfg.APIKeys = lineList{"pub " + auth.HashAPIKey("hmq_pub") + " publish=s.*"}
	cfg.RatePublish = 1
	cfg.CORSOrigins = stringList{"https://app.example.com"}
	sec, err := newSecurity(t.Context(), cfg, testenv.Logger(), nil)
	require.NoError(t, err)
	h := dataplaneHandler(deps{cfg: cfg, bridge: env.Bridge, sec: sec, log: testenv.Logger(), onShutdown: &shutdownHooks{}})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)

	publish := func(key string) *http.Response {
		req, err := http.NewRequest("POST", ts.URL+"/v1/data/subject/s.a", strings.NewReader("eA=="))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	assert.Equal(t, http.StatusUnauthorized, publish("").StatusCode)
	assert.Equal(t, http.StatusUnauthorized, publish("hmq_wrong").StatusCode)
	assert.Equal(t, http.StatusOK, publish("hmq_pub").StatusCode)
	limited := publish("hmq_pub")
	assert.Equal(t, http.StatusTooManyRequests, limited.StatusCode)
	assert.Equal(t, "1", limited.Header.Get("Retry-After"))

	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest("OPTIONS", ts.URL+"/v1/data/subject/s.a", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, httpmq-msg-id")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp
	}
	ok := preflight("https://app.example.com")
	assert.Equal(t, "https://app.example.com", ok.Header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, ok.Header.Get("Access-Control-Allow-Credentials"))
	assert.Empty(t, preflight("https://evil.example.net").Header.Get("Access-Control-Allow-Origin"))
}
