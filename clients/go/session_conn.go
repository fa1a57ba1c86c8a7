package httpmq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/protocol"
)

// conn is one WebSocket of a session.
type conn struct {
	ws    *websocket.Conn
	url   string
	hello Hello
	// tokenAt and tokenExp: when SessionOptions.Token gave the token of
	// the handshake, and its exp (zero: nothing to refresh).
	tokenAt, tokenExp time.Time

	out       chan []byte  // encoded frames for the writer
	in        bytes.Buffer // the message being read: frames copy what they keep
	closeOnce sync.Once
	down      chan struct{} // closed once the reader has stopped
}

// writeTimeout bounds one frame's write. Writes use the session's
// context, not the caller's: coder/websocket closes the connection when
// a write's context ends mid-frame.
const writeTimeout = 10 * time.Second

// maxReadBytes is the largest frame the client reads: a 1 MiB payload in
// base64 JSON with headers fits many times over.
const maxReadBytes = 32 << 20

// maxKeptReadBuffer is the largest read buffer a connection keeps for
// the next message.
const maxKeptReadBuffer = 64 << 10

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		if code == 0 {
			_ = c.ws.CloseNow() // the connection is broken anyway
			return
		}
		_ = c.ws.Close(code, reason) // the peer may be gone: nothing to report
	})
}

// connect opens a connection to u and reads the server's hello.
func (s *Session) connect(ctx context.Context, u string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	header := s.opts.Header
	var tokenAt, tokenExp time.Time
	if s.opts.Token != nil {
		tok, err := token(ctx, s.opts.Token)
		if err != nil {
			return nil, err
		}
		tokenAt, tokenExp = time.Now(), tokenExpiry(tok)
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Authorization", "Bearer "+tok)
	}
	var (
		ws  *websocket.Conn
		tr  Transport
		err error
	)
	switch s.opts.Transport {
	case TransportHTTP1:
		ws, err = s.handshake(ctx, u, TransportHTTP1, header)
		tr = TransportHTTP1
	case TransportHTTP2:
		ws, err = s.handshake(ctx, u, TransportHTTP2, header)
		tr = TransportHTTP2
	default:
		tr = TransportHTTP1
		ws, err = s.handshake(ctx, u, TransportHTTP1, header)
		var he *handshakeError
		if err != nil && !errors.As(err, &he) && ctx.Err() == nil {
			// No HTTP answer over HTTP/1.1: the server (or a proxy on
			// the way) speaks only HTTP/2. Extended CONNECT then.
			tr = TransportHTTP2
			ws, err = s.handshake(ctx, u, TransportHTTP2, header)
		}
	}
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(maxReadBytes)
	c := &conn{ws: ws, url: u, out: make(chan []byte, 256), down: make(chan struct{}), tokenAt: tokenAt, tokenExp: tokenExp}
	frames, err := s.read(ctx, c)
	if err != nil {
		c.close(0, "")
		return nil, fmt.Errorf("httpmq: %s: waiting for hello: %w", u, err)
	}
	f := frames[0]
	if f.Type != protocol.TypeHello || len(frames) > 1 {
		c.close(websocket.StatusCode(protocol.CloseProtocolError), "expected hello")
		return nil, fmt.Errorf("httpmq: %s: first frame is %q, not hello", u, f.Type)
	}
	c.hello = Hello{Session: f.Session, MaxFrame: f.MaxFrame, MaxSubs: f.MaxSubs, Heartbeat: f.Heartbeat,
		URL: u, Transport: tr, Subprotocol: ws.Subprotocol()}
	return c, nil
}

// handshakeError is a handshake the server answered with an HTTP error:
// falling back to another transport would not help.
type handshakeError struct {
	url string
	api *APIError
	err error
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("httpmq: session handshake with %s: %v", e.url, e.api)
}

func (e *handshakeError) Unwrap() []error { return []error{e.api, e.err} }

func (s *Session) handshake(ctx context.Context, u string, tr Transport, header http.Header) (*websocket.Conn, error) {
	hc := s.h1
	if tr == TransportHTTP2 {
		if strings.HasPrefix(u, "ws:") {
			hc = &http.Client{Transport: s.h2c}
		} else {
			hc = &http.Client{Transport: s.h2}
		}
	}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:   hc,
		HTTPHeader:   header,
		Subprotocols: []string{s.codec.Name()},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != 0 && resp.StatusCode != http.StatusSwitchingProtocols {
			api := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get(RequestIDHeader)}
			if resp.Body != nil {
				// coder/websocket keeps up to 1 KiB of the body.
				raw := make([]byte, 1024)
				n, _ := resp.Body.Read(raw)
				if e, ok := decodeAnswer(resp, raw[:n], nil).(*APIError); ok {
					api = e
				}
			}
			return nil, &handshakeError{url: u, api: api, err: err}
		}
		return nil, fmt.Errorf("httpmq: session handshake with %s over %s: %w", u, tr, err)
	}
	if ws.Subprotocol() != s.codec.Name() {
		_ = ws.Close(websocket.StatusCode(protocol.CloseUnsupportedSubprotocol), "")
		return nil, fmt.Errorf("httpmq: %s: server chose subprotocol %q, not %q", u, ws.Subprotocol(), s.codec.Name())
	}
	return ws, nil
}

// read reads one message and decodes its frames (a busy server sends
// several per message). A frame that cannot be decoded, from a newer
// server say, is skipped; with nothing decodable the error is returned.
func (s *Session) read(ctx context.Context, c *conn) ([]*protocol.Frame, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		return nil, err
	}
	if typ != s.kind {
		return nil, fmt.Errorf("httpmq: %s message on subprotocol %s", typ, s.codec.Name())
	}
	// One buffer per connection, not one per message (websocket.Conn.Read):
	// decoding copies what the frames keep. A rare large message's buffer
	// is let go once decoded.
	c.in.Reset()
	defer func() {
		if c.in.Cap() > maxKeptReadBuffer {
			c.in = bytes.Buffer{}
		}
	}()
	if _, err := c.in.ReadFrom(r); err != nil {
		return nil, err
	}
	b := c.in.Bytes()
	var frames []*protocol.Frame
	var bad error
	protocol.Frames(s.codec, b, func(f *protocol.Frame, err error) {
		if err != nil {
			bad = err
			return
		}
		frames = append(frames, f)
	})
	if len(frames) == 0 && bad != nil {
		return nil, bad
	}
	return frames, nil
}

// write encodes and sends one frame.
// write encodes f and queues it for c's writer. It fails only when c is
// gone; a frame queued but not written when c drops is lost like one
// written but not read (commands awaiting a reply learn it from c).
func (s *Session) write(c *conn, f *protocol.Frame) error {
	b, err := s.codec.Encode(f)
	if err != nil {
		return fmt.Errorf("httpmq: encode %s: %w", f.Type, err)
	}
	select {
	case c.out <- b:
		return nil
	case <-c.down:
		return ErrConnectionLost
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// writer writes c's queued frames until c is down, batching those that
// wait (protocol.Batch). A failed write closes c; the reader then sees it.
func (s *Session) writer(c *conn) {
	var buf []byte
	for {
		var msg []byte
		select {
		case <-c.down:
			return
		case msg = <-c.out:
		}
		if len(c.out) == 0 {
			// Let the goroutines about to queue a frame (publishers a reply
			// just woke, say) do so first: one write then carries them all,
			// as nats.go's flusher does. Alone, the writer goes on at once.
			runtime.Gosched()
		}
		if batched := protocol.Batch(s.codec, buf, msg, c.out); len(batched) != len(msg) {
			msg, buf = batched, batched // frames waiting went along in one message
		}
		ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
		err := c.ws.Write(ctx, s.kind, msg)
		cancel()
		if err != nil {
			c.close(0, "")
			return
		}
	}
}
