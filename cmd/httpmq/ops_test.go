package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

// fetch sends a GET with an optional bearer token and returns the
// status and body.
func fetch(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestBinaryMetrics: /metrics on the management listener counts what
// the dataplane did; the profiler is off unless --pprof.
func TestBinaryMetrics(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	admin := newClient(t, p.addr(t, "management"))
	data := newClient(t, p.addr(t, "dataplane"))
	admin.do("POST", "/v1/admin/stream", `{"name":"S","subjects":["s.>"]}`, 200)
	data.do("POST", "/v1/data/subject/s.a", base64.StdEncoding.EncodeToString([]byte("x")), 200)
	data.do("POST", "/v1/data/subject/nowhere", "eA==", 404)

	c := &http.Client{Timeout: 10 * time.Second}
	status, body := fetch(t, c, admin.base+"/metrics", "")
	require.Equal(t, http.StatusOK, status, body)
	for _, want := range []string{
		`httpmq_publishes_total{outcome="ok",transport="rest"} 1`,
		`httpmq_publishes_total{outcome="no_stream_for_subject",transport="rest"} 1`,
		`httpmq_publish_duration_seconds_count{transport="rest"} 2`,
		`httpmq_nats_connection_state{state="connected"} 1`,
		`httpmq_subscriptions_active{transport="rest"} 0`,
		`httpmq_sessions_open 0`,
		`httpmq_build_info{goversion="go`,
		"go_goroutines ",
	} {
		assert.Contains(t, body, want)
	}
	status, _ = fetch(t, c, admin.base+"/debug/pprof/", "")
	assert.Equal(t, http.StatusNotFound, status, "no profiler without --pprof")
	p.stop(t)
}

// TestBinaryMetricsAuth: with authentication on, /metrics needs admin
// read rights unless --metrics-no-auth, and the profiler admin full
// rights; without it both are open on loopback.
func TestBinaryMetricsAuth(t *testing.T) {
	keys := []string{
		"--api-key", "reader " + auth.HashAPIKey("hmq_reader") + " admin=read",
		"--api-key", "ops " + auth.HashAPIKey("hmq_ops") + " admin=full",
		"--api-key", "app " + auth.HashAPIKey("hmq_app") + " publish=s.*",
	}
	c := &http.Client{Timeout: 30 * time.Second}
	for _, tc := range []struct {
		name   string
		args   []string
		token  string
		status int // of /metrics
		pprof  int // of /debug/pprof/heap
	}{
		{"no auth", nil, "", 200, 200},
		{"auth, no token", keys, "", 401, 401},
		{"auth, dataplane rights only", keys, "hmq_app", 403, 403},
		{"auth, admin read", keys, "hmq_reader", 200, 403},
		{"auth, admin full", keys, "hmq_ops", 200, 200},
		{"auth, --metrics-no-auth", append([]string{"--metrics-no-auth"}, keys...), "", 200, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"management", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--pprof"}, tc.args...)
			p := startHTTPMQ(t, args...)
			base := "http://" + p.addr(t, "management")
			status, body := fetch(t, c, base+"/metrics", tc.token)
			assert.Equal(t, tc.status, status, body)
			if status != 200 {
				assert.Contains(t, body, `"success":false`, "refusals are the JSON envelope")
			}
			status, body = fetch(t, c, base+"/debug/pprof/heap?debug=1", tc.token)
			assert.Equal(t, tc.pprof, status, body)
			status, _ = fetch(t, c, base+"/debug/pprof/cmdline", tc.token)
			assert.NotEqual(t, http.StatusOK, status, "cmdline would show secrets given as flags")
			p.stop(t)
		})
	}
}

// TestBinaryMetricsOnDataplaneMode: "httpmq dataplane" has no management
// listener, so /metrics is on its dataplane listener.
func TestBinaryMetricsOnDataplaneMode(t *testing.T) {
	p := startHTTPMQ(t, "dataplane", "--data-dir", t.TempDir(), "--dataplane-addr", "127.0.0.1:0")
	status, body := fetch(t, &http.Client{Timeout: 10 * time.Second}, "http://"+p.addr(t, "dataplane")+"/metrics", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "httpmq_build_info")
	p.stop(t)
}

// freeAddr is a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestBinaryWaitsForNATS: started before its NATS, httpmq serves, says
// it is alive and not ready, and becomes ready and works once NATS is up.
func TestBinaryWaitsForNATS(t *testing.T) {
	natsAddr := freeAddr(t)
	p := startHTTPMQ(t, "serve", "--nats-url", "nats://"+natsAddr,
		"--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0", "--request-timeout", "1s")
	admin := newClient(t, p.addr(t, "management"))
	data := newClient(t, p.addr(t, "dataplane"))
	admin.do("GET", "/v1/admin/alive", "", 200)
	admin.do("GET", "/v1/admin/ready", "", 503)
	data.do("GET", "/v1/data/ready", "", 503)
	assert.NotNil(t, p.findLog("NATS is not reachable yet; retrying in the background (not ready until connected)"))
	code, _, stderr := runCLI(t, "", false, "ready", "--admin-url", admin.base)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "httpmq: not ready: "+admin.base+"/v1/admin/ready answered 503 Service Unavailable")

	srv, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: t.TempDir(), Listen: natsAddr, Logger: testenv.Logger()})
	require.NoError(t, err)
	defer srv.Shutdown()
	require.Eventually(t, func() bool {
		status, _ := fetch(t, admin.http, admin.base+"/v1/admin/ready", "")
		return status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "ready once NATS is up")
	assert.NotNil(t, p.findLog("connected to NATS"))
	for _, args := range [][]string{{"ready", "--admin-url", admin.base}, {"ready", "--dataplane", "--data-url", data.base}} {
		code, stdout, stderr := runCLI(t, "", false, args...)
		assert.Equal(t, exitOK, code, stderr)
		assert.Equal(t, "ready\n", stdout)
	}
	admin.do("POST", "/v1/admin/stream", `{"name":"S","subjects":["s.>"]}`, 200)
	res := data.do("POST", "/v1/data/subject/s.a", "eA==", 200)
	assert.EqualValues(t, 1, res["sequence"])
	p.stop(t)
}

// TestBinaryLogsAreAllJSON: with --log-json every line on stderr is a
// JSON object, TLS reloads (on file change and SIGHUP) and refused
// WebSocket handshakes included.
func TestBinaryLogsAreAllJSON(t *testing.T) {
	cert, key := selfSigned(t)
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0",
		"--tls-cert", cert, "--tls-key", key, "-l", "debug")
	p.addr(t, "management")
	dataplane := p.addr(t, "dataplane")

	// A reload on SIGHUP, then on a change of the files (which the
	// watcher may not see until it has started: rewrite until it does).
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return p.findLog("TLS certificate reloaded", "why", "SIGHUP") != nil },
		30*time.Second, 20*time.Millisecond)
	pem, err := os.ReadFile(cert)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		require.NoError(t, os.WriteFile(cert, pem, 0o600))
		for _, l := range p.logLines() {
			if l["msg"] == "TLS certificate reloaded" && strings.HasPrefix(l["why"].(string), "file changed") {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond)

	// A refused handshake (another site's page).
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test cert
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+dataplane+"/v1/session", nil)
	require.NoError(t, err)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "httpmq.v1.json", "Origin": "https://evil.example.net"} {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Eventually(t, func() bool { return p.findLog("WebSocket handshake refused", "reason", "forbidden") != nil },
		10*time.Second, 20*time.Millisecond)
	p.stop(t)

	lines := bytes.Split(bytes.TrimSpace([]byte(p.stderr())), []byte("\n"))
	require.Greater(t, len(lines), 5)
	for _, l := range lines {
		var v map[string]any
		assert.NoError(t, json.Unmarshal(l, &v), "not a JSON line: %s", l)
	}
}
