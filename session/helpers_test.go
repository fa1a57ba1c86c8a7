package session_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The transports the tests run over, from testenv.
type transport = testenv.Transport

const (
	http1 = testenv.HTTP1
	h2tls = testenv.H2TLS
	h2c   = testenv.H2C
)

var transports = testenv.Transports

// server is a session handler on a real HTTP server, recording the
// protocol of every handshake it sees.
type server struct {
	*session.Handler
	URL    string
	client *http.Client
	mu     sync.Mutex
	protos []string
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protos...)
}

func startServer(t *testing.T, tr transport, opts session.Options) *server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testenv.Logger()
	}
	s := &server{Handler: session.New(opts)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.protos = append(s.protos, r.Method+" "+r.Proto)
		s.mu.Unlock()
		s.Handler.ServeHTTP(w, r)
	})
	ts := testenv.Serve(t, h, tr, testenv.ServeOptions{})
	s.URL, s.client = ts.WSURL, ts.WSClient
	t.Cleanup(func() { // before the server closes
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
	})
	return s
}

// client is a test's end of a session.
type client struct {
	t     *testing.T
	conn  *websocket.Conn
	codec protocol.Codec
	hello *protocol.Frame
	// backlog holds frames that arrived while call waited for a reply.
	backlog []*protocol.Frame
	// unread holds the rest of a message of several frames.
	unread []*protocol.Frame
}

func dial(t *testing.T, s *server, subprotocol string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{HTTPClient: s.client, Subprotocols: []string{subprotocol}})
	require.NoError(t, err)
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(8 << 20)
	codec, ok := protocol.CodecFor(conn.Subprotocol())
	require.True(t, ok, "server chose %q", conn.Subprotocol())
	c := &client{t: t, conn: conn, codec: codec}
	c.hello = c.recv()
	require.Equal(t, protocol.TypeHello, c.hello.Type)
	return c
}

func (c *client) send(f *protocol.Frame) {
	c.t.Helper()
	b, err := c.codec.Encode(f)
	require.NoError(c.t, err)
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	typ := websocket.MessageText
	if c.codec.Binary() {
		typ = websocket.MessageBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(c.t, c.conn.Write(ctx, typ, b))
}

func (c *client) recv() *protocol.Frame {
	c.t.Helper()
	f, err := c.tryRecv(10 * time.Second)
	require.NoError(c.t, err)
	return f
}

// tryRecv returns the next frame; a message of several frames is
// returned one frame at a time.
func (c *client) tryRecv(within time.Duration) (*protocol.Frame, error) {
	if len(c.unread) > 0 {
		f := c.unread[0]
		c.unread = c.unread[1:]
		return f, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var first *protocol.Frame
	var firstErr error
	protocol.Frames(c.codec, b, func(f *protocol.Frame, err error) {
		switch {
		case first == nil && firstErr == nil:
			first, firstErr = f, err
		case err == nil:
			c.unread = append(c.unread, f)
		}
	})
	return first, firstErr
}

// call sends a command and returns its reply; other frames arriving
// meanwhile go to the backlog, for next.
func (c *client) call(f *protocol.Frame) (*protocol.Frame, []*protocol.Frame) {
	c.t.Helper()
	c.send(f)
	for {
		r := c.recv()
		if r.ID == f.ID && (r.Type == protocol.TypeOK || r.Type == protocol.TypeError || r.Type == protocol.TypePong) {
			return r, nil
		}
		c.backlog = append(c.backlog, r)
	}
}

func (c *client) ok(f *protocol.Frame) *protocol.Frame {
	c.t.Helper()
	r, _ := c.call(f)
	require.Equal(c.t, protocol.TypeOK, r.Type, "reply to %s: %+v", f.Type, r)
	return r
}

func (c *client) fails(f *protocol.Frame, code protocol.Code) *protocol.Frame {
	c.t.Helper()
	r, _ := c.call(f)
	require.Equal(c.t, protocol.TypeError, r.Type, "reply to %s: %+v", f.Type, r)
	require.Equal(c.t, code, protocol.Code(r.Reason), "reply to %s: %+v", f.Type, r)
	if code == protocol.CodeReservedSubject || code == protocol.CodeReservedHeader {
		// 403 when authorization refused it (whatever the rights), 400
		// without authentication.
		require.Contains(c.t, []int{http.StatusBadRequest, http.StatusForbidden}, r.Status, "%+v", r)
	} else {
		require.Equal(c.t, code.HTTPStatus(), r.Status, "an error frame's code is the HTTP status: %+v", r)
	}
	return r
}

// next returns the next delivery.
func (c *client) next() *protocol.Frame {
	c.t.Helper()
	for len(c.backlog) > 0 {
		f := c.backlog[0]
		c.backlog = c.backlog[1:]
		if f.Type == protocol.TypeMsg {
			return f
		}
	}
	for {
		f := c.recv()
		if f.Type == protocol.TypeMsg {
			return f
		}
	}
}

// closed reads until the connection closes and returns the close code.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.tryRecv(10 * time.Second)
		if err != nil {
			code := websocket.CloseStatus(err)
			require.NotEqual(c.t, websocket.StatusCode(-1), code, "not a close: %v", err)
			return code
		}
	}
}

func stream(t *testing.T, b *bridge.Bridge, name string, subjects ...string) {
	t.Helper()
	_, err := b.CreateStream(testenv.Context(t), bridge.StreamConfig{Name: name, Subjects: subjects})
	require.NoError(t, err)
}

func consumer(t *testing.T, b *bridge.Bridge, s string, c bridge.ConsumerConfig) {
	t.Helper()
	_, err := b.CreateConsumer(testenv.Context(t), s, c)
	require.NoError(t, err)
}

func websocketDial(url, subprotocol string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
}
