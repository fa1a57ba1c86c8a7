package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/h2ws"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	_ "github.com/httpmq/httpmq/internal/xconnect" // HTTP/2 extended CONNECT on, in any program serving sessions
	"github.com/httpmq/httpmq/protocol"
)

// Options configure a [Handler]. Every zero value has a sensible default,
// given on the field.
type Options struct {
	// Broker is JetStream. Required.
	Broker Broker
	// Gate authenticates the handshake, authorizes every command, limits
	// publishes and sessions per identity, and verifies the tokens of
	// auth frames. Default: allow everything.
	Gate *auth.Gate
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// MaxFrameBytes is the largest frame a client may send; a larger one
	// closes the session with 1009. Default 2 MiB (a 1 MiB payload in
	// base64 JSON, with room to spare).
	MaxFrameBytes int64
	// MaxSubscriptions per session. Default 1024.
	MaxSubscriptions int
	// MaxSessions per server; handshakes beyond it are refused with 503
	// too_many_sessions. Default 10,000.
	MaxSessions int
	// MaxQueuedBytes bounds what may wait to be written to one client:
	// above half of it the client's subscriptions stop asking JetStream
	// for messages, beyond it the client is ended as a slow consumer
	// (4000 slow_consumer). It must hold the largest message. Default
	// 8 MiB.
	MaxQueuedBytes int
	// SlowConsumerTimeout is how long one write to a client may block
	// before the client is ended as a slow consumer. Default 30s.
	SlowConsumerTimeout time.Duration
	// PingInterval between WebSocket pings from the server; a peer that
	// does not answer one within the next interval is closed with 4002
	// idle_timeout. It is also how often a REST stream's transport is
	// asked to keep the connection alive. Default 20s.
	PingInterval time.Duration
	// MaxPending bounds the publishes and confirmed acks one session may
	// have in flight at once; further commands wait. Default 256.
	MaxPending int
	// OriginPatterns lists the hosts, besides the request's own, whose
	// pages may open sessions: path.Match patterns on the origin's
	// host:port ("app.example.com", "*.example.com:*"), or on
	// scheme://host:port when the pattern has "://", as
	// websocket.AcceptOptions.OriginPatterns. Default: same origin only.
	OriginPatterns []string
	// AllowLoopbackOrigins also lets pages served from loopback hosts
	// (localhost, 127.0.0.1, [::1]) on any port open sessions: for
	// development, where a page served by a dev server on another port
	// talks to a local httpmq without authentication.
	AllowLoopbackOrigins bool
	// Metrics records sessions opened and closed, refused handshakes and
	// session publishes. Nil records nothing.
	Metrics *metrics.Metrics
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxSubscriptions, 1024)
	def(&o.MaxSessions, 10_000)
	def(&o.MaxQueuedBytes, 8<<20)
	def(&o.MaxPending, 256)
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 2 << 20
	}
	if o.SlowConsumerTimeout <= 0 {
		o.SlowConsumerTimeout = 30 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Handler accepts WebSocket sessions, and hosts every [Client] of the
// server (REST streams too: [Handler.Stream]), so that Stats and Shutdown
// cover them all. It is safe for concurrent use.
type Handler struct {
	opts   Options
	log    *slog.Logger
	count  atomic.Int64 // WebSocket sessions, for MaxSessions
	shared shared       // live messages encoded once

	mu      sync.Mutex
	clients map[*Client]struct{}
	closing bool
	wg      sync.WaitGroup
}

// New returns a Handler. Mount it for GET and CONNECT.
func New(opts Options) *Handler {
	opts = opts.withDefaults()
	return &Handler{opts: opts, log: opts.Logger, clients: map[*Client]struct{}{}}
}

// Sessions is the number of open WebSocket sessions.
func (h *Handler) Sessions() int { return int(h.count.Load()) }

// Stats is a snapshot of what the clients hold, for dashboards and tests.
type Stats struct {
	// Clients: WebSocket sessions and REST streams; Sessions: the first.
	Clients, Sessions int
	Subscriptions     int
	// QueuedBytes waiting to be written, over all clients; MaxQueuedBytes
	// is the most any one client has.
	QueuedBytes, MaxQueuedBytes int
	// InFlight deliveries awaiting acknowledgement, over all clients.
	InFlight int
	// REST is the part of the above that is REST subscription streams
	// (served by this handler for the dataplane).
	REST struct{ Subscriptions, QueuedBytes, InFlight int }
}

// Stats returns a snapshot of the open clients.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	st := Stats{Clients: len(all), Sessions: h.Sessions()}
	for _, c := range all {
		subs, queued, inflight := c.stats()
		st.Subscriptions += subs
		st.QueuedBytes += queued
		st.MaxQueuedBytes = max(st.MaxQueuedBytes, queued)
		st.InFlight += inflight
		if c.single {
			st.REST.Subscriptions += subs
			st.REST.QueuedBytes += queued
			st.REST.InFlight += inflight
		}
	}
	return st
}

// ServeHTTP performs the handshake and runs the session until it ends.
// A refused handshake is answered with the JSON error envelope and
// logged at info with its reason.
//
// Over HTTP/1.1 the session runs on a goroutine of its own and ServeHTTP
// returns once the connection is hijacked, so that net/http lets go of
// the request, its buffers and its goroutine's stack (a few KB per idle
// session). Over HTTP/2 the stream ends with the handler: it runs the
// session.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, idle, codec, r, end := h.handshake(w, r)
	if conn == nil {
		return
	}
	h.opts.Metrics.SessionOpened()
	closed := func() {
		h.opts.Metrics.SessionClosed()
		end()
	}
	c := h.openSession(r, conn, idle, codec, closed)
	if c == nil {
		return
	}
	if r.ProtoMajor == 1 {
		// The reading goroutine starts here, not in a closure, so that
		// an idle session's stack is shallow (see h2ws.Idle).
		go c.serve(conn, idle, codec, closed)
		return
	}
	c.serve(conn, idle, codec, closed)
}

// handshake checks and accepts a WebSocket handshake. It returns the
// session's connection (and its h2ws.Idle, if any), codec, request
// (carrying the identity) and what to call once the session has ended;
// a nil connection when it answered the client with a refusal.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *h2ws.Idle, protocol.Codec, *http.Request, func()) {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodConnect:
		w.Header().Set("Allow", "GET, CONNECT")
		h.refuse(w, r, httpx.NewError(protocol.CodeMethodNotAllowed, "sessions are opened with GET (HTTP/1.1) or CONNECT (HTTP/2)", ""))
		return nil, nil, nil, nil, nil
	case r.Method == http.MethodGet && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		w.Header().Set("Upgrade", "websocket")
		h.refuse(w, r, httpx.NewError(protocol.CodeBadRequest,
			"this is a WebSocket endpoint", "open it with a WebSocket client; see docs/protocol.md"))
		return nil, nil, nil, nil, nil
	}
	if err := checkOrigin(r, h.opts.OriginPatterns, h.opts.AllowLoopbackOrigins); err != nil {
		h.refuse(w, r, err)
		return nil, nil, nil, nil, nil
	}
	ctx, err := h.opts.Gate.Identify(r)
	if err != nil {
		h.refuse(w, r, err)
		return nil, nil, nil, nil, nil
	}
	r = r.WithContext(ctx)
	release, err := h.opts.Gate.OpenSession(ctx)
	if err != nil {
		h.refuse(w, r, err)
		return nil, nil, nil, nil, nil
	}
	codec, ok := negotiate(r)
	if !ok {
		release()
		h.refuse(w, r, httpx.NewError(protocol.CodeBadRequest,
			"no supported WebSocket subprotocol offered",
			"offer one of "+strings.Join(protocol.Subprotocols(), ", ")+" in Sec-WebSocket-Protocol"))
		return nil, nil, nil, nil, nil
	}
	end := func() {
		h.count.Add(-1)
		release()
	}
	if n := h.count.Add(1); n > int64(h.opts.MaxSessions) {
		end()
		h.refuse(w, r, httpx.NewError(protocol.CodeTooManySessions, "the server is at its session limit", ""))
		return nil, nil, nil, nil, nil
	}
	conn, idle, err := h2ws.AcceptIdle(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{codec.Name()},
		// checkOrigin decided, with the same rules, so that a refusal
		// gets the JSON envelope instead of Accept's plain text.
		InsecureSkipVerify: true,
	})
	if err != nil {
		end()
		h.log.Info("WebSocket handshake failed", "err", err, "remote", r.RemoteAddr)
		h.opts.Metrics.HandshakeRefused(string(protocol.CodeBadRequest))
		return nil, nil, nil, nil, nil // Accept answered the client
	}
	return conn, idle, codec, r, end
}

// refuse answers a handshake with err in the JSON envelope, logs why at
// info level and counts it.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	e := httpx.Classify(err)
	h.log.Info("WebSocket handshake refused", "reason", string(e.Code), "message", e.Message, "detail", e.Detail,
		"remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
	h.opts.Metrics.HandshakeRefused(string(e.Code))
	httpx.WriteError(w, r, err)
}

// negotiate picks the first subprotocol the client offers that we speak.
func negotiate(r *http.Request) (protocol.Codec, bool) {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if slices.Contains(protocol.Subprotocols(), p) {
				return protocol.CodecFor(p)
			}
		}
	}
	return nil, false
}

func (h *Handler) register(c *Client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.clients[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Handler) unregister(c *Client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.wg.Done()
}

// Shutdown ends every client (WebSocket sessions with 1001 going away,
// REST streams with a final shutting_down error) and refuses new ones,
// then waits until they are gone or ctx ends.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	all := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	for _, c := range all {
		c.close(disconnectShutdown)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
