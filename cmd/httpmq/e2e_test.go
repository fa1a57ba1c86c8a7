package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// The seed's management walk-through, with its exact request bodies.
const (
	seedStreamBody = `{
    "name": "testStream00",
    "max_age": 300000000000,
    "subjects": [
        "test-subject.00",
        "test-subject.01"
    ]
}`
	seedConsumerBody = `{
    "max_inflight": 4,
    "mode": "push",
    "name": "testConsumer00",
    "filter_subject": "test-subject.01"
}`
)

// client talks to one httpmq API over HTTP/1.1.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, addr string) *client {
	return &client{t: t, base: "http://" + addr, http: &http.Client{Timeout: 15 * time.Second}}
}

// do sends a request and decodes the JSON answer, requiring status want.
func (c *client) do(method, path, body string, want int) map[string]any {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, want, resp.StatusCode, "%s %s: %s", method, path, raw)
	assert.Equal(c.t, "application/json", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	var out map[string]any
	require.NoError(c.t, json.Unmarshal(raw, &out), "%s", raw)
	return out
}

func obj(t *testing.T, v any, key string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "not an object: %v", v)
	o, ok := m[key].(map[string]any)
	require.True(t, ok, "%q is not an object in %v", key, m)
	return o
}

func TestServeSeedManagementWalkthrough(t *testing.T) {
	dir := t.TempDir()
	p := startHTTPMQ(t, "serve", "--data-dir", dir, "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	mgmt := newClient(t, p.addr(t, "management"))
	p.addr(t, "dataplane")

	// Define a test stream.
	res := mgmt.do("POST", "/v1/admin/stream", seedStreamBody, http.StatusOK)
	assert.Equal(t, true, res["success"])

	// Verify the stream is defined: the fields the seed shows.
	res = mgmt.do("GET", "/v1/admin/stream/testStream00", "", http.StatusOK)
	assert.Equal(t, true, res["success"])
	stream := obj(t, res, "stream")
	cfg := obj(t, stream, "config")
	assert.Equal(t, "testStream00", cfg["name"])
	assert.Equal(t, []any{"test-subject.00", "test-subject.01"}, cfg["subjects"])
	for _, unlimited := range []string{"max_consumers", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size"} {
		assert.EqualValues(t, -1, cfg[unlimited], unlimited)
	}
	assert.EqualValues(t, 300000000000, cfg["max_age"])
	assertTime(t, stream["created"])
	state := obj(t, stream, "state")
	for _, zero := range []string{"messages", "bytes", "first_seq", "last_seq", "consumer_count"} {
		assert.EqualValues(t, 0, state[zero], zero)
	}
	assertTime(t, state["first_ts"])
	assertTime(t, state["last_ts"])

	// Define a test consumer on this stream.
	res = mgmt.do("POST", "/v1/admin/stream/testStream00/consumer", seedConsumerBody, http.StatusOK)
	assert.Equal(t, true, res["success"])

	// Verify the consumer is defined.
	res = mgmt.do("GET", "/v1/admin/stream/testStream00/consumer/testConsumer00", "", http.StatusOK)
	assert.Equal(t, true, res["success"])
	consumer := obj(t, res, "consumer")
	assert.Equal(t, "testStream00", consumer["stream_name"])
	assert.Equal(t, "testConsumer00", consumer["name"])
	assertTime(t, consumer["created"])
	ccfg := obj(t, consumer, "config")
	// httpmq serves push consumers from a JetStream pull consumer (bounded
	// by what each subscriber reads); the mode says push, and no deliver
	// subject is handed out for anyone to bypass the bridge.
	assert.Equal(t, "push", ccfg["mode"])
	assert.Nil(t, ccfg["deliver_subject"])
	assert.EqualValues(t, -1, ccfg["max_deliver"])
	assert.EqualValues(t, 30000000000, ccfg["ack_wait"])
	assert.Equal(t, "test-subject.01", ccfg["filter_subject"])
	assert.EqualValues(t, 4, ccfg["max_ack_pending"])
	for _, seqs := range []string{"delivered", "ack_floor"} {
		s := obj(t, consumer, seqs)
		assert.EqualValues(t, 0, s["consumer_seq"], seqs)
		assert.EqualValues(t, 0, s["stream_seq"], seqs)
	}
	for _, zero := range []string{"num_ack_pending", "num_redelivered", "num_waiting", "num_pending"} {
		assert.EqualValues(t, 0, consumer[zero], zero)
	}

	// List both.
	res = mgmt.do("GET", "/v1/admin/stream", "", http.StatusOK)
	assert.Contains(t, obj(t, res, "streams"), "testStream00")
	res = mgmt.do("GET", "/v1/admin/stream/testStream00/consumer", "", http.StatusOK)
	assert.Contains(t, obj(t, res, "consumers"), "testConsumer00")

	// Delete both.
	mgmt.do("DELETE", "/v1/admin/stream/testStream00/consumer/testConsumer00", "", http.StatusOK)
	mgmt.do("GET", "/v1/admin/stream/testStream00/consumer/testConsumer00", "", http.StatusNotFound)
	mgmt.do("DELETE", "/v1/admin/stream/testStream00", "", http.StatusOK)
	mgmt.do("GET", "/v1/admin/stream/testStream00", "", http.StatusNotFound)

	start := time.Now()
	p.stop(t)
	assert.Less(t, time.Since(start), 10*time.Second, "shutdown must be prompt")
	assert.NotNil(t, p.findLog("embedded JetStream stopped"), "the embedded server stops cleanly")
	assert.NotContains(t, p.stderr(), `"level":"ERROR"`)
}

func assertTime(t *testing.T, v any) {
	t.Helper()
	s, ok := v.(string)
	if assert.True(t, ok, "want an RFC 3339 time, got %v", v) {
		_, err := time.Parse(time.RFC3339Nano, s)
		assert.NoError(t, err)
	}
}

func TestServeRestartKeepsStreamsAndConsumers(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--data-dir", dir, "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0"}

	p := startHTTPMQ(t, args...)
	mgmt := newClient(t, p.addr(t, "management"))
	mgmt.do("POST", "/v1/admin/stream", seedStreamBody, http.StatusOK)
	mgmt.do("POST", "/v1/admin/stream/testStream00/consumer", seedConsumerBody, http.StatusOK)
	p.stop(t)

	p = startHTTPMQ(t, args...)
	mgmt = newClient(t, p.addr(t, "management"))
	res := mgmt.do("GET", "/v1/admin/stream/testStream00", "", http.StatusOK)
	assert.EqualValues(t, 300000000000, obj(t, obj(t, res, "stream"), "config")["max_age"])
	res = mgmt.do("GET", "/v1/admin/stream/testStream00/consumer/testConsumer00", "", http.StatusOK)
	assert.Equal(t, "test-subject.01", obj(t, obj(t, res, "consumer"), "config")["filter_subject"])
	p.stop(t)
}

func TestRunModes(t *testing.T) {
	t.Run("management", func(t *testing.T) {
		p := startHTTPMQ(t, "management", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0")
		mgmt := newClient(t, p.addr(t, "management"))
		assert.Equal(t, true, mgmt.do("GET", "/v1/admin/alive", "", http.StatusOK)["success"])
		assert.Equal(t, true, mgmt.do("GET", "/v1/admin/ready", "", http.StatusOK)["success"])
		assert.Nil(t, p.findLog("listening", "api", "dataplane"), "management mode serves no dataplane")
		p.stop(t)
	})
	t.Run("dataplane", func(t *testing.T) {
		p := startHTTPMQ(t, "dataplane", "--data-dir", t.TempDir(), "--dataplane-addr", "127.0.0.1:0")
		addr := p.addr(t, "dataplane")
		// The dataplane may not have /v1/data/alive yet: any HTTP answer
		// shows it listens.
		resp, err := (&http.Client{Timeout: 15 * time.Second}).Get("http://" + addr + "/v1/data/alive")
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Contains(t, []int{http.StatusOK, http.StatusNotFound}, resp.StatusCode)
		assert.Nil(t, p.findLog("listening", "api", "management"), "dataplane mode serves no management API")
		p.stop(t)
	})
}

func TestBinaryRefusesBadConfig(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--management-addr", "0.0.0.0:0")
	p.wait(t, exitUsage)
	assert.Contains(t, p.stderr(), "--insecure-listen")
}

func TestBinaryFailsWhenPortTaken(t *testing.T) {
	p := startHTTPMQ(t, "management", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0")
	addr := p.addr(t, "management")
	q := startHTTPMQ(t, "management", "--data-dir", t.TempDir(), "--management-addr", addr)
	q.wait(t, exitError)
	assert.Contains(t, q.stderr(), "address already in use")
	assert.NotNil(t, q.findLog("embedded JetStream stopped"), "the embedded server is stopped on failure too")
	p.stop(t)
}

func TestBinaryRefusesSharedDataDir(t *testing.T) {
	dir := t.TempDir()
	p := startHTTPMQ(t, "management", "--data-dir", dir, "--management-addr", "127.0.0.1:0")
	p.addr(t, "management")
	q := startHTTPMQ(t, "dataplane", "--data-dir", dir, "--dataplane-addr", "127.0.0.1:0")
	q.wait(t, exitError)
	assert.Contains(t, q.stderr(), "in use by another httpmq")
	assert.Contains(t, q.stderr(), "give both --nats-url", "the error says how to split the APIs")
	p.stop(t)
}

// The dataplane advertises extended CONNECT (RFC 8441), so browsers can
// open WebSockets over HTTP/2; GODEBUG=http2xconnect=0 turns that off
// (docs/operations.md), leaving them HTTP/1.1.
func TestBinaryAdvertisesExtendedConnect(t *testing.T) {
	for _, tc := range []struct {
		godebug    string
		advertised bool
	}{{"", true}, {"http2xconnect=0", false}} {
		t.Run("GODEBUG="+tc.godebug, func(t *testing.T) {
			p := startHTTPMQEnv(t, []string{"GODEBUG=" + tc.godebug}, "dataplane", "--data-dir", t.TempDir(), "--dataplane-addr", "127.0.0.1:0")
			conn, err := net.DialTimeout("tcp", p.addr(t, "dataplane"), 10*time.Second)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = io.WriteString(conn, http2.ClientPreface)
			require.NoError(t, err)
			fr := http2.NewFramer(conn, conn)
			require.NoError(t, fr.WriteSettings())
			f, err := fr.ReadFrame()
			require.NoError(t, err)
			settings, ok := f.(*http2.SettingsFrame)
			require.True(t, ok, "first frame %T", f)
			v, ok := settings.Value(http2.SettingEnableConnectProtocol)
			assert.Equal(t, tc.advertised, ok && v == 1, "SETTINGS_ENABLE_CONNECT_PROTOCOL=1")
			_ = conn.Close()
			p.stop(t)
		})
	}
}

func TestBinaryHelp(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--help")
	p.wait(t, 0)
}
