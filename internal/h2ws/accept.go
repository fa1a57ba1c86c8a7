package h2ws

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// IsExtendedConnect reports whether r is an RFC 8441 WebSocket handshake.
func IsExtendedConnect(r *http.Request) bool {
	return r.Method == http.MethodConnect && r.ProtoMajor == 2 && r.Header.Get(":protocol") == "websocket"
}

// Accept accepts a WebSocket handshake made over HTTP/1.1 Upgrade or
// HTTP/2 extended CONNECT. For HTTP/2 the handler must not return while
// the connection is in use: the stream ends with the handler.
func Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, error) {
	c, _, err := AcceptIdle(w, r, opts)
	return c, err
}

// AcceptIdle is [Accept], with the connection's [Idle] (nil when it has
// none to offer: HTTP/2, TLS, or a platform without it).
func AcceptIdle(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *Idle, error) {
	if r.Method != http.MethodConnect || r.ProtoMajor != 2 {
		u := &upgradeWriter{ResponseWriter: w}
		c, err := websocket.Accept(u, r, opts)
		if err != nil {
			return nil, nil, err
		}
		return c, u.idle, nil
	}
	if r.Header.Get(":protocol") != "websocket" {
		http.Error(w, "extended CONNECT for a protocol other than websocket", http.StatusBadRequest)
		return nil, nil, errors.New("h2ws: CONNECT without :protocol websocket")
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key) // never fails
	get := r.Clone(r.Context())
	get.Method = http.MethodGet
	get.Header.Set("Upgrade", "websocket")
	get.Header.Set("Connection", "Upgrade")
	get.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	if get.Header.Get("Sec-WebSocket-Version") == "" {
		get.Header.Set("Sec-WebSocket-Version", "13")
	}
	c, err := websocket.Accept(&streamWriter{ResponseWriter: w, r: r}, get, opts)
	return c, nil, err
}

// The buffers a WebSocket keeps for its whole life, in both directions.
// An idle connection holds both, so they are smaller than net/http's
// 4 KiB: a bigger read is copied straight from the connection, and a
// message over the write buffer costs one more write, not a copy. (A
// 1 KiB reader instead of 2 KiB: 1.3 KB less per idle session, about 5%
// more server CPU per message for a session that publishes small
// messages fast.)
const (
	readBufferSize  = 1 << 10
	writeBufferSize = 1 << 10
)

// buffers returns the reader and writer a WebSocket keeps over conn;
// pending is what the server had read past the handshake. It is in the
// reader's buffer, where websocket.Accept looks for it.
func buffers(conn io.ReadWriter, pending []byte) *bufio.ReadWriter {
	br := bufio.NewReaderSize(conn, max(readBufferSize, len(pending)))
	if len(pending) > 0 {
		br.Reset(io.MultiReader(bytes.NewReader(pending), conn))
		_, _ = br.Peek(len(pending)) // reads pending and nothing more
	}
	return bufio.NewReadWriter(br, bufio.NewWriterSize(conn, writeBufferSize))
}

// upgradeWriter hands websocket.Accept the hijacked HTTP/1.1 connection
// with buffers of our sizes instead of net/http's (see [buffers]).
type upgradeWriter struct {
	http.ResponseWriter
	idle *Idle
}

func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	pending, _ := brw.Reader.Peek(brw.Reader.Buffered())
	rw := buffers(conn, pending)
	u.idle = newIdle(conn, rw.Reader)
	return conn, rw, nil
}

func (u *upgradeWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// streamWriter shows websocket.Accept an HTTP/1.1-like ResponseWriter
// over an HTTP/2 stream.
type streamWriter struct {
	http.ResponseWriter
	r *http.Request
}

func (s *streamWriter) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols {
		h := s.Header()
		h.Del("Upgrade")
		h.Del("Connection")
		h.Del("Sec-WebSocket-Accept")
		code = http.StatusOK
	}
	s.ResponseWriter.WriteHeader(code)
}

// Hijack returns the stream as a net.Conn.
func (s *streamWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rc := http.NewResponseController(s.ResponseWriter)
	// Per-stream server timeouts would cut a long-lived WebSocket.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	if err := rc.Flush(); err != nil {
		return nil, nil, err
	}
	c := &streamConn{w: s.ResponseWriter, body: s.r.Body, rc: rc, local: addr(s.r, true), remote: addr(s.r, false)}
	return c, buffers(c, nil), nil
}

// streamConn is an HTTP/2 stream as a net.Conn: reads from the request
// body, writes (and flushes) to the response.
type streamConn struct {
	w             http.ResponseWriter
	body          io.ReadCloser
	rc            *http.ResponseController
	local, remote net.Addr

	mu     sync.Mutex
	closed bool
}

var errClosed = errors.New("h2ws: stream closed")

func (c *streamConn) Read(p []byte) (int, error) { return c.body.Read(p) }

func (c *streamConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errClosed
	}
	n, err := c.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, c.rc.Flush()
}

// Close ends the stream for reading and unblocks a Write stuck on flow
// control. After Close no Write touches the ResponseWriter, which may be
// gone once the handler returns.
func (c *streamConn) Close() error {
	_ = c.rc.SetWriteDeadline(time.Now().Add(-time.Second)) // unblock a stuck Write
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.body.Close()
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}
func (c *streamConn) SetReadDeadline(t time.Time) error  { return c.rc.SetReadDeadline(t) }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return c.rc.SetWriteDeadline(t) }

type strAddr string

func (a strAddr) Network() string { return "tcp" }
func (a strAddr) String() string  { return string(a) }

func addr(r *http.Request, local bool) net.Addr {
	if local {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			return a
		}
		return strAddr("")
	}
	return strAddr(r.RemoteAddr)
}
