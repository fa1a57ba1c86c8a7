package httpmq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/clients/go/h2ws"
	"github.com/httpmq/httpmq/protocol"
)

// Transport is how a [Session] reaches the server.
type Transport string

// Transports.
const (
	// TransportAuto tries HTTP/1.1 and falls back to HTTP/2 (extended
	// CONNECT over TLS, or h2c for ws:// URLs) when the handshake gets no
	// HTTP answer. The default: a session over its own HTTP/1.1
	// connection costs the server less per message than one over an
	// HTTP/2 stream (docs/benchmarks.md, round three).
	TransportAuto Transport = ""
	// TransportHTTP1 is an HTTP/1.1 Upgrade, one TCP connection per
	// session.
	TransportHTTP1 Transport = "http/1.1"
	// TransportHTTP2 is RFC 8441 extended CONNECT: TLS for wss://, h2c
	// (cleartext, prior knowledge) for ws://.
	TransportHTTP2 Transport = "h2"
)

// Encoding is the framing of a session.
type Encoding string

// Encodings; their subprotocols are in package protocol.
const (
	EncodingJSON    Encoding = "json"    // the default
	EncodingMsgpack Encoding = "msgpack" // smaller, binary payloads as is
)

// SessionOptions configure [Dial]. The zero value (or nil) is fine; each
// field gives its default.
type SessionOptions struct {
	// Servers are more session URLs to reconnect to, tried in turn after
	// Dial's url (after a 1001 going_away the next one first).
	Servers []string
	// Transport: default TransportAuto.
	Transport Transport
	// Encoding: default EncodingJSON.
	Encoding Encoding
	// TLSConfig for wss:// URLs. Default: the system's roots.
	TLSConfig *tls.Config
	// Header is sent with every handshake (static credentials, say).
	Header http.Header
	// Token, when set, supplies the credentials: it is called for every
	// handshake, its token going as Authorization: Bearer (replacing one
	// in Header). When the token is a JWT with an exp claim, the session
	// calls Token again once 80% of the token's lifetime has passed and
	// sends the fresh token in an auth frame, so the server does not
	// close the session at exp. A refresh that fails (Token fails, or the
	// server refuses the token) is reported as [EventTokenError]; the
	// server then closes the connection at exp with 4004 auth_expired
	// and the session reconnects with a new token from Token. A Token
	// failure on reconnect counts as a failed attempt (with back-off).
	// Without Token, a 4004 ends the session: it has no fresh
	// credentials to reconnect with.
	Token TokenFunc
	// DialTimeout bounds each connection attempt, handshake and hello
	// included. Default 10s.
	DialTimeout time.Duration

	// NoReconnect makes a dropped connection end the session (Err says
	// why) instead of reconnecting.
	NoReconnect bool
	// MaxReconnects is how many consecutive failed attempts end the
	// session. Default 0: try forever (until Close).
	MaxReconnects int
	// ReconnectWait is the first back-off step, doubled on each failed
	// attempt up to MaxReconnectWait; each wait is drawn at random
	// between half the step and the step. Defaults 100ms and 5s.
	ReconnectWait, MaxReconnectWait time.Duration
	// RetryPublishes resends the publishes awaiting their ack when the
	// connection drops, on the next connection. Each such publish carries
	// a message id (one is generated when PublishOptions.MsgID is empty),
	// so JetStream stores it once within the stream's duplicate window.
	// Default false: they fail with [ErrConnectionLost]. Either way none
	// is dropped silently.
	RetryPublishes bool
	// OnEvent is told of disconnections, reconnections and subscriptions
	// that could not be restored. It is called from the session's own
	// goroutine: return quickly, and do not call Close from it.
	OnEvent func(Event)
	// PingInterval is how often the client pings the server to find a
	// dead connection; a ping unanswered within the interval drops it.
	// Default 20s; negative disables.
	PingInterval time.Duration
}

// EventKind says what an [Event] reports.
type EventKind int

// Event kinds.
const (
	// EventDisconnected: the connection dropped (Err says why); the
	// session reconnects unless told not to.
	EventDisconnected EventKind = iota + 1
	// EventReconnected: a new connection is up (URL) and the
	// subscriptions are being restored.
	EventReconnected
	// EventResubscribed: a subscription was restored on the new
	// connection.
	EventResubscribed
	// EventSubscriptionLost: a subscription could not be restored (Err,
	// e.g. consumer_not_found) and has ended.
	EventSubscriptionLost
	// EventServerError: the server reported an error tied to no command,
	// such as a failed fire-and-forget ack.
	EventServerError
	// EventClosed: the session ended for good (Err: why).
	EventClosed
	// EventTokenRefreshed: a fresh token from SessionOptions.Token was
	// accepted by the server (an auth frame's ok).
	EventTokenRefreshed
	// EventTokenError: SessionOptions.Token failed (Err wraps
	// [ErrToken]), or the server refused the fresh token (Err is an
	// *[APIError], unauthorized or forbidden).
	EventTokenError
)

var eventNames = map[EventKind]string{
	EventDisconnected: "disconnected", EventReconnected: "reconnected", EventResubscribed: "resubscribed",
	EventSubscriptionLost: "subscription_lost", EventServerError: "server_error", EventClosed: "closed",
	EventTokenRefreshed: "token_refreshed", EventTokenError: "token_error",
}

func (k EventKind) String() string {
	if n, ok := eventNames[k]; ok {
		return n
	}
	return "event_" + strconv.Itoa(int(k))
}

// Event is a change in a session's connection.
type Event struct {
	Kind EventKind
	// URL of the server concerned.
	URL string
	// Err is why, for disconnections, lost subscriptions and errors.
	Err error
	// Attempt counts reconnect attempts before this reconnection.
	Attempt int
	// Sub is the subscription concerned, if any.
	Sub *Subscription
}

// Hello is what the server announced when the connection opened.
type Hello struct {
	// Session id, for logs and support.
	Session string
	// MaxFrame is the largest message the server accepts, in bytes.
	MaxFrame int
	// MaxSubs is the most subscriptions the session may have.
	MaxSubs int
	// Heartbeat is the interval of the server's pings.
	Heartbeat time.Duration
	// URL, Transport and Subprotocol describe the connection.
	URL         string
	Transport   Transport
	Subprotocol string
}

// Session is one WebSocket to httpmq carrying many subscriptions,
// publishes and acknowledgements at once. Start with [Dial]. All methods
// are safe for concurrent use.
//
// When the connection drops (or the server goes away), the session
// reconnects by itself with jittered back-off, to the same or another
// configured server, and subscribes again; commands issued meanwhile wait
// for the new connection (bounded by their context). Close ends it.
type Session struct {
	opts  SessionOptions
	urls  []string
	codec protocol.Codec
	kind  websocket.MessageType

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	wg     sync.WaitGroup

	h1  *http.Client    // HTTP/1.1 handshakes
	h2  *h2ws.Transport // HTTP/2 over TLS
	h2c *h2ws.Transport // cleartext HTTP/2

	ids atomic.Uint64

	mu     sync.Mutex
	conn   *conn
	hello  Hello         // of the current or last connection
	up     chan struct{} // closed while conn != nil
	calls  map[string]*call
	subs   map[string]*Subscription
	closed bool
	err    error
	urlIdx int
}

// Dial opens a session to url (ws://, wss://, http:// or https://; a URL
// without a path means the server's /v1/session) and waits for the
// server's hello. opts may be nil. Only this first connection is not
// retried: when it fails Dial tries each of opts.Servers once, then
// returns the errors.
func Dial(ctx context.Context, rawURL string, opts *SessionOptions) (*Session, error) {
	var o SessionOptions
	if opts != nil {
		o = *opts
	}
	if o.Encoding == "" {
		o.Encoding = EncodingJSON
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 100 * time.Millisecond
	}
	if o.MaxReconnectWait <= 0 {
		o.MaxReconnectWait = 5 * time.Second
	}
	if o.MaxReconnectWait < o.ReconnectWait {
		o.MaxReconnectWait = o.ReconnectWait
	}
	if o.PingInterval == 0 {
		o.PingInterval = 20 * time.Second
	}
	var sp string
	switch o.Encoding {
	case EncodingJSON:
		sp = protocol.SubprotocolJSON
	case EncodingMsgpack:
		sp = protocol.SubprotocolMsgpack
	default:
		return nil, fmt.Errorf("%w: encoding %q", ErrInvalidOption, o.Encoding)
	}
	switch o.Transport {
	case TransportAuto, TransportHTTP1, TransportHTTP2:
	default:
		return nil, fmt.Errorf("%w: transport %q", ErrInvalidOption, o.Transport)
	}
	codec, _ := protocol.CodecFor(sp)
	var urls []string
	for _, u := range append([]string{rawURL}, o.Servers...) {
		n, err := sessionURL(u)
		if err != nil {
			return nil, err
		}
		urls = append(urls, n)
	}
	s := &Session{
		opts: o, urls: urls, codec: codec, kind: websocket.MessageText,
		done:  make(chan struct{}),
		h1:    &http.Client{Transport: &http.Transport{TLSClientConfig: o.TLSConfig, Proxy: http.ProxyFromEnvironment}},
		h2:    h2ws.NewTransport(o.TLSConfig, false),
		h2c:   h2ws.NewTransport(nil, true),
		up:    make(chan struct{}),
		calls: map[string]*call{},
		subs:  map[string]*Subscription{},
	}
	if codec.Binary() {
		s.kind = websocket.MessageBinary
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var errs []error
	for i, u := range urls {
		c, err := s.connect(ctx, u)
		if err == nil {
			s.urlIdx = i
			s.setConn(c)
			s.wg.Add(1)
			go s.run(c)
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	s.cancel()
	s.closeTransports()
	close(s.done)
	return nil, errors.Join(errs...)
}

// sessionURL normalises a session URL.
func sessionURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: session URL: %v", ErrInvalidOption, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: session URL %q: scheme must be ws, wss, http or https", ErrInvalidOption, raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/session"
	}
	return u.String(), nil
}

// Hello returns what the server of the current (or last) connection
// announced.
func (s *Session) Hello() Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hello
}

// Done is closed when the session has ended: after Close, or when it
// gave up reconnecting.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session is open; then why it ended ([ErrClosed]
// after Close, a *[CloseError], or the last connection error).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session: it closes the connection normally, ends every
// subscription and fails every command in flight with [ErrClosed], and
// returns once every goroutine of the session has stopped. It is
// idempotent and always returns nil.
func (s *Session) Close() error {
	s.shutdown(ErrClosed)
	<-s.done
	return nil
}

// shutdown marks the session ended with err and stops its connection.
func (s *Session) shutdown(err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.err = err
	c := s.conn
	subs := s.subs
	s.subs = map[string]*Subscription{}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.end(err, true)
	}
	if c != nil {
		c.close(websocket.StatusNormalClosure, "")
	}
	s.cancel()
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Session) closeTransports() {
	s.h2.CloseIdleConnections()
	s.h2c.CloseIdleConnections()
	s.h1.CloseIdleConnections()
}

func (s *Session) event(e Event) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
}

// nextID returns a new command or subscription id.
func (s *Session) nextID() string { return strconv.FormatUint(s.ids.Add(1), 36) }

// backoff is the wait before reconnect attempt n (1-based): between half
// and all of ReconnectWait·2^(n-1), capped at MaxReconnectWait.
func (s *Session) backoff(n int) time.Duration {
	d := s.opts.ReconnectWait
	for i := 1; i < n && d < s.opts.MaxReconnectWait; i++ {
		d *= 2
	}
	d = min(d, s.opts.MaxReconnectWait)
	return d/2 + rand.N(d/2+1)
}
