package h2ws_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	h2wsclient "github.com/httpmq/httpmq/clients/go/h2ws"
	"github.com/httpmq/httpmq/internal/h2ws"
	_ "github.com/httpmq/httpmq/internal/xconnect" // the server side needs extended CONNECT on
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo accepts a WebSocket and echoes messages, reporting the protocol
// the handshake arrived on.
func echo(protos chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := h2ws.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"echo"}})
		if err != nil {
			return
		}
		protos <- r.Method + " " + r.Proto
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := r.Context()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, b); err != nil {
				return
			}
		}
	}
}

func roundTrip(t *testing.T, url string, client *http.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{"echo"}})
	require.NoError(t, err)
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	assert.Equal(t, "echo", c.Subprotocol())
	for _, msg := range []string{"hello", strings.Repeat("x", 200_000)} {
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
		_, got, err := c.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, msg, string(got))
	}
	require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"))
}

func TestHTTP2TLS(t *testing.T) {
	protos := make(chan string, 1)
	srv := httptest.NewUnstartedServer(echo(protos))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tr := h2wsclient.NewTransport(&tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}, false)
	defer tr.CloseIdleConnections()
	roundTrip(t, "wss"+strings.TrimPrefix(srv.URL, "https"), &http.Client{Transport: tr})
	assert.Equal(t, "CONNECT HTTP/2.0", <-protos)
}

func TestH2C(t *testing.T) {
	protos := make(chan string, 1)
	srv := httptest.NewUnstartedServer(echo(protos))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	tr := h2wsclient.NewTransport(nil, true)
	defer tr.CloseIdleConnections()
	roundTrip(t, "ws"+strings.TrimPrefix(srv.URL, "http"), &http.Client{Transport: tr})
	assert.Equal(t, "CONNECT HTTP/2.0", <-protos)
}

func TestHTTP1(t *testing.T) {
	protos := make(chan string, 1)
	srv := httptest.NewServer(echo(protos))
	defer srv.Close()
	roundTrip(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	assert.Equal(t, "GET HTTP/1.1", <-protos)
}

// A client may send its first frames in the same packet as the
// handshake: what the server read past the request reaches the
// WebSocket.
func TestHTTP1FramesWithTheHandshake(t *testing.T) {
	srv := httptest.NewServer(echo(make(chan string, 1)))
	defer srv.Close()
	// Two masked text frames (mask key zero), "hi" and 3,000 bytes: more
	// than the reader's buffer holds.
	big := strings.Repeat("x", 3000)
	frames := append([]byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i', 0x81, 0x80 | 126, 0x0b, 0xb8, 0, 0, 0, 0}, big...)
	_, br := rawUpgrade(t, srv, frames)
	want := append([]byte{0x81, 2, 'h', 'i', 0x81, 126, 0x0b, 0xb8}, big...)
	got := make([]byte, len(want))
	_, err := io.ReadFull(br, got)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// echoIdle echoes like echo, waiting with h2ws.Idle before each read,
// and reports when it returns.
func echoIdle(done chan<- bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, idle, err := h2ws.AcceptIdle(w, r, &websocket.AcceptOptions{Subprotocols: []string{"echo"}})
		if err != nil {
			return
		}
		defer func() { done <- idle != nil }()
		defer c.CloseNow()
		ctx := r.Context()
		for {
			idle.Wait()
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, b); err != nil {
				return
			}
		}
	}
}

// Idle.Wait lets through frames already buffered (two in one packet),
// wakes for frames that come later, and for a peer that goes away.
func TestIdle(t *testing.T) {
	done := make(chan bool, 1)
	srv := httptest.NewServer(echoIdle(done))
	defer srv.Close()
	conn, br := rawUpgrade(t, srv, nil)
	frame := func(s string) []byte { return append([]byte{0x81, 0x80 | byte(len(s)), 0, 0, 0, 0}, s...) }
	echoed := func(s string) {
		t.Helper()
		got := make([]byte, 2+len(s))
		_, err := io.ReadFull(br, got)
		require.NoError(t, err)
		assert.Equal(t, append([]byte{0x81, byte(len(s))}, s...), got)
	}
	_, err := conn.Write(append(frame("one"), frame("two")...))
	require.NoError(t, err)
	echoed("one")
	echoed("two")
	_, err = conn.Write(frame("three"))
	require.NoError(t, err)
	echoed("three")
	require.NoError(t, conn.Close())
	select {
	case hadIdle := <-done:
		assert.True(t, hadIdle, "HTTP/1.1 over TCP has an Idle")
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still waits after the peer left")
	}
}

// rawUpgrade opens a WebSocket to srv by hand, over TCP, sending first
// right behind the handshake, and returns the connection and its reader
// past the 101 answer.
func rawUpgrade(t *testing.T, srv *httptest.Server, first []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: echo\r\n\r\n"
	_, err = conn.Write(append([]byte(req), first...))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return conn, br
}
