package session

import (
	"context"
	"github.com/httpmq/httpmq/internal/metrics"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// Client is one client of the server, over its [Transport]: a WebSocket
// session, or a REST subscription stream. It owns the client's
// subscriptions and its outbound queue, and a writer that drains the
// queue to the transport, keeps the connection alive and closes the
// transport last. The writer is a goroutine that runs only while there
// is something to do: an idle client holds no goroutine for it, only
// timers (one for keep-alive and the deadline of a write in progress,
// one for credential expiry when credentials expire).
//
// Flow control has two levels. A subscription holds at most its
// max_inflight unacknowledged deliveries (the bridge asks JetStream for
// no more). The outbound queue is bounded in bytes: above half of
// [Options.MaxQueuedBytes] the client's subscriptions stop asking
// JetStream for messages, below a quarter they resume; a queue over the
// limit, or a write blocked for [Options.SlowConsumerTimeout], ends the client as
// a slow consumer. A slow client costs a bounded number of bytes and
// never slows another.
type Client struct {
	h                   *Handler
	t                   Transport
	id                  string
	kind, remote, proto string        // for logs (logger)
	subprotocol         string        // for logs, once the WebSocket's is known
	single              bool          // a REST stream: it ends with its subscription
	every               time.Duration // how often the transport keeps the connection alive

	ctx  *lifetime   // ends when the client has ended
	wctx *lifetime   // writes run under it; ending it cuts a blocked write short (slow consumer)
	slow atomic.Bool // the timer cut a write short

	who     atomic.Pointer[auth.Identity]
	authc   atomic.Pointer[authContext] // authCtx's, for who
	pending chan struct{}               // slots for commands awaiting JetStream
	amu     sync.Mutex
	acking  map[ackKey]chan struct{} // the last ack command of each message, done when closed
	wg      sync.WaitGroup

	mu      sync.Mutex
	subs    map[string]*subscription
	queue   []queued
	queued  int // bytes in queue
	paused  bool
	closing *Disconnect
	flush   bool        // flush the queue before closing
	started bool        // the transport may be written to
	writing bool        // a writer goroutine runs (for good once closing)
	ping    bool        // a keep-alive is due; the writer runs KeepAlive
	timer   *time.Timer // keep-alive, and the deadline of the write in progress
	pingAt  time.Time   // when the next keep-alive is due
	cutAt   time.Time   // the deadline of the write in progress; zero when none
	expiry  *time.Timer // ends the client when its credentials expire (nil while they do not)
	last    time.Time   // of the last write; the writer's

	done chan struct{} // closed when the client has ended
}

// queued is one frame waiting for the writer, with what it weighs:
// f, or enc when the frame is already encoded (a live message, encoded
// once for all the sessions of a codec).
type queued struct {
	f    *protocol.Frame
	enc  []byte
	size int
	// pooled: f came from msgFrames, and goes back once encoded.
	pooled bool
}

// newClient returns a client of r's identity over t. It is registered
// with the handler (and so ended at shutdown) until it ends; false when
// the handler is shutting down.
func (h *Handler) newClient(r *http.Request, t Transport, kind string, single bool, every time.Duration) (*Client, bool) {
	// Not derived from r's context, which would keep the request and its
	// connection's contexts for the client's life; the identity is in
	// authCtx's. The write context is no child of the client's: finish
	// ends both.
	id := newID()
	c := &Client{
		h: h, t: t, id: id, single: single, every: every, ctx: newLifetime(), wctx: newLifetime(),
		kind: kind, remote: r.RemoteAddr, proto: r.Proto,
		pending: make(chan struct{}, h.opts.MaxPending), acking: map[ackKey]chan struct{}{},
		subs: map[string]*subscription{},
		done: make(chan struct{}),
	}
	c.who.Store(auth.SharedIdentityFrom(r.Context()))
	if !h.register(c) {
		c.ctx.cancel()
		return nil, false
	}
	return c, true
}

// logger is the client's logger. Built when something is logged, which
// is rare, rather than held: a handler's preformatted attributes would
// cost every idle client a few hundred bytes.
func (c *Client) logger() *slog.Logger {
	l := c.h.log.With(c.kind, c.id, "remote", c.remote, "proto", c.proto)
	if c.subprotocol != "" {
		l = l.With("subprotocol", c.subprotocol)
	}
	return l
}

// ID identifies the client in logs.
func (c *Client) ID() string { return c.id }

// Context ends when the client has ended.
func (c *Client) Context() context.Context { return c.ctx }

// start lets the writer write to the transport (what was queued before
// goes first) and starts its timers. The client
// runs until it ends; Done then closes.
func (c *Client) start() {
	c.mu.Lock()
	c.started = true
	c.last = time.Now()
	c.pingAt = c.last.Add(c.every)
	c.timer = time.AfterFunc(c.every, c.onTimer)
	c.armExpiryLocked()
	c.mu.Unlock()
	c.kick()
}

// kick makes sure a writer runs when there is something to do.
func (c *Client) kick() {
	c.mu.Lock()
	spawn := c.started && !c.writing && (len(c.queue) > 0 || c.ping || c.closing != nil)
	if spawn {
		c.writing = true
	}
	c.mu.Unlock()
	if spawn {
		go c.write()
	}
}

// onTimer is the client's timer (one per client, for what would take
// two): it has the writer run KeepAlive when one is due, and cuts a write
// blocked past its deadline short (a slow consumer).
func (c *Client) onTimer() {
	now := time.Now()
	c.mu.Lock()
	cut := !c.cutAt.IsZero() && !now.Before(c.cutAt)
	ping := !now.Before(c.pingAt)
	if cut {
		c.cutAt = time.Time{}
	}
	if ping {
		c.ping = true
		c.pingAt = now.Add(c.every)
	}
	c.armLocked(now)
	c.mu.Unlock()
	if cut {
		c.slow.Store(true)
		c.wctx.cancel()
	}
	if ping {
		c.kick()
	}
}

// armLocked sets the timer for what comes first: the next keep-alive or
// the deadline of the write in progress. c.mu must be held.
func (c *Client) armLocked(now time.Time) {
	if c.timer == nil { // not started, or finished
		return
	}
	next := c.pingAt
	if !c.cutAt.IsZero() && c.cutAt.Before(next) {
		next = c.cutAt
	}
	c.timer.Reset(next.Sub(now))
}

// writeDeadline marks the start (with its deadline) or, with a zero deadline,
// the end of a write.
func (c *Client) writeDeadline(deadline time.Time) {
	c.mu.Lock()
	c.cutAt = deadline
	if !deadline.IsZero() && deadline.Before(c.pingAt) {
		c.armLocked(time.Now())
	}
	// At the end of a write the timer is left as it is: if it fires
	// early, onTimer finds nothing due and sets it again.
	c.mu.Unlock()
}

// expire is the expiry timer's.
func (c *Client) expire() {
	if c.who.Load().Expired(time.Now()) {
		c.logger().Info("credentials expired, closing", "identity", c.who.Load().Key())
		c.close(disconnectExpired)
	}
}

// finish ends the client with d: its subscriptions, its commands, then
// the transport.
func (c *Client) finish(d Disconnect) {
	defer c.h.unregister(c)
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.expiry != nil {
		c.expiry.Stop()
	}
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for _, sub := range subs {
		sub.bs.Close()
	}
	c.ctx.cancel()
	c.wctx.cancel()
	c.wg.Wait()
	// Publishes still awaiting JetStream hold pending slots until their
	// callback has run (within the request timeout): wait for them all.
	for range cap(c.pending) {
		c.pending <- struct{}{}
	}
	c.t.Close(d)
	close(c.done)
	c.logger().Debug("client ended", "close", d.Close, "reason", d.Reason)
}

// close ends the client with d once the queue is written (bounded by the
// write timeout). The first reason wins.
func (c *Client) close(d Disconnect) { c.end(d, true, false) }

// closeNow ends the client with d at once: what is queued is dropped,
// a write in progress is cut short.
func (c *Client) closeNow(d Disconnect) { c.end(d, false, true) }

// closeBroken ends the client with d without writing what is queued, but
// lets a write in progress finish (within the write timeout): cutting it
// short would break the connection before the close frame that says why.
// For a client that broke the protocol.
func (c *Client) closeBroken(d Disconnect) { c.end(d, false, false) }

// transport is the metrics label of c: a REST stream or a session.
func (c *Client) transport() metrics.Transport {
	if c.single {
		return metrics.REST
	}
	return metrics.Session
}

func (c *Client) end(d Disconnect, flush, cut bool) {
	c.mu.Lock()
	if c.closing == nil {
		c.closing, c.flush = &d, flush
		if !flush {
			c.queue, c.queued = nil, 0
		}
	}
	c.mu.Unlock()
	if cut {
		c.wctx.cancel()
	}
	c.kick()
}

// send queues f for the client. It reports false once the client is
// ending.
func (c *Client) send(f *protocol.Frame) bool {
	return c.enqueue(queued{f: f, size: frameSize(f)})
}

// frameSize is what f weighs in the queue, before it is encoded.
func frameSize(f *protocol.Frame) int {
	size := 64 + len(f.Data) + len(f.Subject) + len(f.Message) + len(f.Detail)
	for k, vs := range f.Headers {
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}
	return size
}

// enqueue queues q for the client (see send).
func (c *Client) enqueue(q queued) bool {
	c.mu.Lock()
	if c.closing != nil {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, q)
	c.queued += q.size
	over := c.queued > c.h.opts.MaxQueuedBytes
	pause := !c.paused && c.queued > c.h.opts.MaxQueuedBytes/2
	if pause {
		c.paused = true
	}
	var subs []*subscription
	if pause {
		subs = c.subsLocked()
	}
	c.mu.Unlock()
	if over {
		c.logger().Info("closing slow consumer", "queued_bytes", c.queued)
		c.h.opts.Metrics.SlowClientDisconnect(c.transport())
		c.closeNow(slowConsumer("outbound queue over its byte limit"))
		return false
	}
	for _, sub := range subs {
		sub.bs.SetPaused(true)
	}
	c.kick()
	return true
}

func (c *Client) subsLocked() []*subscription {
	subs := make([]*subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	return subs
}

// take removes what the writer writes next: up to a batch of frames;
// once nothing is left to flush, the reason to close, or else whether to
// run KeepAlive. With nothing at all to do the writer is done: take
// says so (nil, nil, false) and a later kick starts another.
func (c *Client) take() ([]queued, *Disconnect, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, bytes := 0, 0
	for n < len(c.queue) && n < protocol.MaxBatchFrames && bytes < protocol.MaxBatchBytes {
		bytes += c.queue[n].size
		n++
	}
	if n == 0 {
		c.queue = c.queue[:0] // reuse the storage
		if c.closing != nil {
			return nil, c.closing, false
		}
		ping := c.ping
		c.ping = false
		if !ping {
			c.writing = false
			if cap(c.queue) > 64 {
				c.queue = nil // an idle client holds no big queue
			}
		}
		return nil, nil, ping
	}
	batch := make([]queued, n)
	copy(batch, c.queue)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	return batch, nil, false
}

// written accounts for frames the transport took, resuming the
// subscriptions once the queue has drained enough.
func (c *Client) written(bytes int) {
	c.mu.Lock()
	c.queued -= bytes
	resume := c.paused && c.queued < c.h.opts.MaxQueuedBytes/4
	var subs []*subscription
	if resume {
		c.paused = false
		subs = c.subsLocked()
	}
	c.mu.Unlock()
	for _, sub := range subs {
		sub.bs.SetPaused(false)
	}
}

// write is the client's writer: it drains the queue, runs KeepAlive when
// the timer asked, and returns when there is nothing left to do, or ends
// the client once it is closing and the queue is flushed.
func (c *Client) write() {
	for {
		batch, closing, ping := c.take()
		switch {
		case closing != nil:
			c.finish(*closing)
			return
		case ping:
			if d := c.t.KeepAlive(c.wctx, time.Since(c.last)); d != nil {
				c.closeNow(*d)
			}
			continue
		case batch == nil:
			return
		}
		// Allocated per batch, not held while the client idles.
		encoded, bytes := make([][]byte, 0, len(batch)), 0
		for _, q := range batch {
			bytes += q.size
			if q.enc != nil {
				encoded = append(encoded, q.enc)
				continue
			}
			b, err := c.t.Encode(q.f)
			if err != nil {
				c.logger().Error("encode frame", "type", q.f.Type, "err", err)
			}
			if q.pooled {
				*q.f = protocol.Frame{}
				msgFrames.Put(q.f)
			}
			if err != nil {
				continue
			}
			if b != nil {
				encoded = append(encoded, b)
			}
		}
		if len(encoded) > 0 {
			// The client's timer, not a context with its own per write.
			ctx := &writeCtx{lifetime: c.wctx, deadline: time.Now().Add(c.h.opts.SlowConsumerTimeout)}
			c.writeDeadline(ctx.deadline)
			err := c.t.Write(ctx, encoded)
			c.writeDeadline(time.Time{})
			if err != nil {
				if c.slow.Load() {
					c.logger().Info("closing slow consumer", "blocked_for", c.h.opts.SlowConsumerTimeout)
					c.h.opts.Metrics.SlowClientDisconnect(c.transport())
					c.closeNow(slowConsumer("write blocked for " + c.h.opts.SlowConsumerTimeout.String()))
				} else {
					c.closeNow(Disconnect{Close: protocol.CloseNormal, Reason: "write failed"})
				}
				continue
			}
			c.last = time.Now()
		}
		c.written(bytes)
	}
}

// writeCtx is the context of one write: the client's, with the deadline
// its timer enforces (transports that set write deadlines read it).
type writeCtx struct {
	*lifetime
	deadline time.Time
}

func (w *writeCtx) Deadline() (time.Time, bool) { return w.deadline, true }

// armExpiry sets the expiry timer to fire when the client's credentials
// expire (after a refresh), or stops it for credentials that do not.
func (c *Client) armExpiry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started && c.closing == nil { // before start, start arms it
		c.armExpiryLocked()
	}
}

func (c *Client) armExpiryLocked() {
	switch exp := c.who.Load().Expires; {
	case exp.IsZero():
		if c.expiry != nil {
			c.expiry.Stop()
		}
	case c.expiry == nil:
		c.expiry = time.AfterFunc(time.Until(exp), c.expire)
	default:
		c.expiry.Reset(time.Until(exp))
	}
}

// authCtx is the client's context carrying its current identity, for
// the gate's checks.
func (c *Client) authCtx() context.Context {
	who := c.who.Load()
	if a := c.authc.Load(); a != nil && a.who == who {
		return a.ctx
	}
	a := &authContext{who: who, ctx: auth.WithSharedIdentity(c.ctx, who)}
	c.authc.Store(a)
	return a.ctx
}

// authContext is the context authCtx made for one identity, kept while
// that identity holds: every publish and ack is checked with it.
type authContext struct {
	who *auth.Identity
	ctx context.Context
}

// check authorizes one action for the client's current identity.
func (c *Client) check(a auth.Action) error {
	return c.h.opts.Gate.Check(c.authCtx(), a)
}

// SubscribeRequest is what a client subscribes to.
type SubscribeRequest = bridge.SubscribeOptions

// Subscribe starts subscription id of the client (authorized for its
// identity); ok, when not nil, is queued before the first delivery.
func (c *Client) Subscribe(ctx context.Context, id string, o SubscribeRequest, ok *protocol.Frame) error {
	if err := c.check(auth.Action{Kind: auth.Subscribe, Stream: o.Stream, Consumer: o.Consumer}); err != nil {
		return err
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = c.h.opts.MaxQueuedBytes / 2 // a window of large messages cannot overrun the queue
	}
	return c.add(id, ok, func(sub *subscription) (source, error) {
		return c.h.opts.Broker.Subscribe(ctx, o, sub)
	})
}

// LiveRequest is the subject a client subscribes to live, and where it
// recovers from.
type LiveRequest = bridge.LiveOptions

// Listen starts live subscription id of the client to a subject
// (authorized for its identity); ok, when not nil, is queued before the
// first message, saying which stream serves the subject and whether the
// recovery asked for was complete.
func (c *Client) Listen(ctx context.Context, id string, o LiveRequest, ok *protocol.Frame) error {
	if err := c.check(auth.Action{Kind: auth.Listen, Subject: o.Subject}); err != nil {
		return err
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = c.h.opts.MaxQueuedBytes
	}
	return c.add(id, ok, func(sub *subscription) (source, error) {
		if ct, ok := c.t.(codecTransport); ok {
			sub.codec = ct.Codec() // live messages are encoded once for all
		}
		ls, err := c.h.opts.Broker.Listen(ctx, o, sub)
		if err == nil && ok != nil {
			ok.Stream, ok.Recovered = ls.Stream(), ls.Recovered()
		}
		return ls, err
	})
}

// add registers subscription id, whose source open starts.
func (c *Client) add(id string, ok *protocol.Frame, open func(*subscription) (source, error)) error {
	c.mu.Lock()
	_, exists := c.subs[id]
	n := len(c.subs)
	c.mu.Unlock()
	switch {
	case exists:
		return httpx.NewError(protocol.CodeSubscriptionExists, "this session already has subscription "+id, "")
	case n >= c.h.opts.MaxSubscriptions:
		return httpx.NewError(protocol.CodeTooManySubscriptions, "the session is at its subscription limit", "")
	}
	sub := &subscription{c: c, id: id}
	bs, err := open(sub)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closing != nil || c.subs == nil {
		c.mu.Unlock()
		bs.Close()
		return bridge.ErrSubscriptionClosed
	}
	sub.bs = bs
	c.subs[id] = sub
	paused := c.paused
	c.mu.Unlock()
	if paused {
		bs.SetPaused(true)
	}
	sub.start(ok)
	return nil
}

// Unsubscribe ends subscription id: what JetStream already sent for it
// is queued first, so that nothing of it follows the ok queued next.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	c.mu.Lock()
	sub, ok := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if !ok {
		return httpx.NewError(protocol.CodeSubscriptionNotFound, "no subscription "+id+" on this session", "")
	}
	ctx, cancel := context.WithTimeout(ctx, c.h.opts.SlowConsumerTimeout)
	defer cancel()
	sub.bs.Drain(ctx)
	return nil
}

// forget removes a subscription the server ended, if it is still listed.
func (c *Client) forget(sub *subscription) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs[sub.id] == sub {
		delete(c.subs, sub.id)
		return true
	}
	return false
}

// Stats of one client, for the handler's.
func (c *Client) stats() (subs, queued, inflight int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sub := range c.subs {
		inflight += sub.bs.InFlight()
	}
	return len(c.subs), c.queued, inflight
}

// Stream serves one REST subscription over t until it ends: the client
// left (r's context), the consumer was deleted, the credentials expired,
// the server shuts down, or the client read too slowly. An error
// subscribing is returned before anything was written, for the caller to
// answer; otherwise begin runs (to write the response's head) before the
// first delivery, and Stream returns nil when the stream is over.
// keepAlive is how often t.KeepAlive runs.
func (h *Handler) Stream(r *http.Request, t Transport, o SubscribeRequest, keepAlive time.Duration, begin func() error) error {
	return h.stream(r, t, keepAlive, begin, func(c *Client) error {
		c.logger().Debug("subscription stream open", "stream", o.Stream, "consumer", o.Consumer)
		return c.Subscribe(r.Context(), "", o, nil)
	})
}

// StreamLive serves one REST live subscription to a subject over t, as
// Stream serves a consumer's.
func (h *Handler) StreamLive(r *http.Request, t Transport, o LiveRequest, keepAlive time.Duration, begin func() error) error {
	return h.stream(r, t, keepAlive, begin, func(c *Client) error {
		c.logger().Debug("live stream open", "subject", o.Subject)
		return c.Listen(r.Context(), "", o, nil)
	})
}

func (h *Handler) stream(r *http.Request, t Transport, keepAlive time.Duration, begin func() error, open func(*Client) error) error {
	c, ok := h.newClient(r, t, "stream", true, keepAlive)
	if !ok {
		return disconnectShutdown.Err
	}
	if err := open(c); err != nil {
		c.closeNow(disconnectNormal)
		c.start()
		<-c.done
		return err
	}
	if err := begin(); err != nil {
		c.closeNow(disconnectNormal)
	}
	stop := context.AfterFunc(r.Context(), func() { c.closeNow(disconnectNormal) })
	defer stop()
	c.start()
	<-c.done
	return nil
}
