package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/clients/go/h2ws"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// TestSlowBodiesAreCut: clients trickling request bodies (one byte every
// 100 ms) are cut with 408 request_timeout once --body-read-timeout has
// passed, over HTTP/1.1 and h2c, on both listeners; meanwhile a REST
// subscription and WebSocket sessions (HTTP/1.1 upgrade and h2c extended
// CONNECT) opened before them on the same server live on and work.
func TestSlowBodiesAreCut(t *testing.T) {
	const timeout = time.Second
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.ManagementAddr, cfg.DataplaneAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.BodyReadTimeout = timeout
	cfg.Heartbeat = -1
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- runServer(ctx, cfg, modeServe, log) }()
	defer func() {
		cancel()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("runServer did not return")
		}
	}()
	mgmt, dp := listening(t, logs, "management"), listening(t, logs, "dataplane")
	h1 := &http.Client{Timeout: 10 * time.Second}
	defer h1.CloseIdleConnections()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer h2c.CloseIdleConnections()
	post := func(url, body string) {
		t.Helper()
		resp, err := h1.Post(url, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	}
	post("http://"+mgmt+"/v1/admin/stream", `{"name":"S","subjects":["s.>"]}`)
	post("http://"+mgmt+"/v1/admin/stream/S/consumer", `{"name":"c","mode":"pull"}`)

	// The long-lived ones, opened first.
	subCtx, stopSub := context.WithCancel(t.Context())
	defer stopSub()
	req, err := http.NewRequestWithContext(subCtx, http.MethodGet, "http://"+dp+"/v1/data/stream/S/consumer/c", nil)
	require.NoError(t, err)
	sub, err := h2c.Do(req)
	require.NoError(t, err)
	defer sub.Body.Close()
	require.Equal(t, http.StatusOK, sub.StatusCode)
	wsCtx, stopWS := context.WithTimeout(t.Context(), 30*time.Second)
	defer stopWS()
	h2 := h2ws.NewTransport(nil, true)
	defer h2.CloseIdleConnections()
	var sessions []*websocket.Conn
	for _, c := range []*http.Client{nil, {Transport: h2}} {
		conn, _, err := websocket.Dial(wsCtx, "ws://"+dp+"/v1/session", &websocket.DialOptions{HTTPClient: c, Subprotocols: []string{protocol.SubprotocolJSON}})
		require.NoError(t, err)
		defer conn.CloseNow()
		sessions = append(sessions, conn)
	}
	start := time.Now()

	// The slow ones: over HTTP/1.1 on both listeners, over h2c on both.
	slow := []struct{ name, url string }{
		{"publish", "http://" + dp + "/v1/data/subject/s.a?encoding=raw"},
		{"define a stream", "http://" + mgmt + "/v1/admin/stream"},
	}
	for _, s := range slow {
		assert.Equal(t, "HTTP/1.1 408 Request Timeout", trickleHTTP1(t, s.url), "HTTP/1.1 %s", s.name)
		status, code := trickleH2C(t, h2c, s.url)
		assert.Equal(t, http.StatusRequestTimeout, status, "h2c %s", s.name)
		assert.Equal(t, "request_timeout", code, "h2c %s", s.name)
	}
	require.Greater(t, time.Since(start), timeout, "the long-lived requests are older than the body timeout")

	// They live on: a publish reaches the subscription, sessions answer pings.
	post("http://"+dp+"/v1/data/subject/s.a?encoding=raw", "still here")
	lines := bufio.NewScanner(sub.Body)
	require.True(t, lines.Scan(), "subscription ended: %v", lines.Err())
	var d struct {
		Success bool   `json:"success"`
		B64Msg  []byte `json:"b64_msg"`
	}
	require.NoError(t, json.Unmarshal(lines.Bytes(), &d), "%s", lines.Bytes())
	assert.Equal(t, "still here", string(d.B64Msg))
	for i, conn := range sessions {
		require.NoError(t, conn.Write(wsCtx, websocket.MessageText, []byte(`{"type":"ping","id":"p"}`)))
		for seen := false; !seen; {
			_, b, err := conn.Read(wsCtx)
			require.NoError(t, err, "session %d", i)
			seen = strings.Contains(string(b), `"type":"pong"`)
		}
		require.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))
	}
}

// trickleHTTP1 sends a POST to url whose body (100 bytes announced)
// arrives one byte every 100 ms, and returns the status line of the
// answer. It fails the test if there is none within 10 s.
func trickleHTTP1(t *testing.T, url string) string {
	t.Helper()
	host, path, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	conn, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", path, host)
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err, "no answer to a trickled body")
	return strings.TrimSpace(status)
}

// trickleH2C is trickleHTTP1 over h2c, with a body of unknown length; it
// returns the status and error code of the answer.
func trickleH2C(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		_, _ = pw.Write([]byte("{"))
		for {
			select {
			case <-ctx.Done():
				_ = pw.CloseWithError(ctx.Err())
				return
			case <-tick.C:
				if _, err := pw.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-done }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err, "no answer to a trickled body")
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	var e struct {
		Error struct {
			Code   any    `json:"code"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &e), "%s", b)
	if e.Error.Reason != "" { // the error shape of issue 12
		return resp.StatusCode, e.Error.Reason
	}
	code, _ := e.Error.Code.(string)
	return resp.StatusCode, code
}
