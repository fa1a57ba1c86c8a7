package session

import (
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/protocol"
)

// dispatch runs one validated command. Subscribe and unsubscribe run in
// order on the read loop; publishes and acks run concurrently, at most
// MaxPending at once, and reply when JetStream has answered.
func (c *Client) dispatch(f *protocol.Frame) {
	switch f.Type {
	case protocol.TypePing:
		c.send(&protocol.Frame{Type: protocol.TypePong, ID: f.ID})
	case protocol.TypeSubscribe:
		if f.Subject != "" {
			o := LiveRequest{Subject: f.Subject, FromSeq: f.FromSeq, Last: f.Last}
			if f.Since > 0 {
				o.Since = time.Unix(0, f.Since)
			}
			if err := c.Listen(c.ctx, f.Sub, o, ok(f)); err != nil {
				c.reply(ok(f), err)
			}
			return
		}
		o := SubscribeRequest{Stream: f.Stream, Consumer: f.Consumer, Filter: f.Filter, Group: f.Group, MaxInFlight: f.MaxInflight}
		if err := c.Subscribe(c.ctx, f.Sub, o, ok(f)); err != nil {
			c.reply(ok(f), err)
		}
	case protocol.TypeUnsubscribe:
		c.reply(ok(f), c.Unsubscribe(c.ctx, f.Sub))
	case protocol.TypeAuth:
		c.reply(ok(f), c.reauth(f))
	case protocol.TypePublish:
		a := auth.Action{Kind: auth.Publish, Subject: f.Subject, Header: f.Headers}
		if err := c.check(a); err != nil {
			c.h.opts.Metrics.Published(metrics.Session, 0, false, err)
			c.reply(ok(f), err)
			return
		}
		if err := c.h.opts.Gate.Limit(c.authCtx(), a, len(f.Data)); err != nil {
			c.h.opts.Metrics.Published(metrics.Session, 0, false, err)
			c.reply(ok(f), err)
			return
		}
		c.publish(f)
	case protocol.TypeAck, protocol.TypeNak, protocol.TypeTerm, protocol.TypeProgress:
		c.ack(f)
	default:
		c.send(protocol.ErrorFrame(f.ID, protocol.NewError(protocol.CodeUnknownFrameType, "frame type "+string(f.Type)+" is not a command")))
	}
}

// reply answers a command: with ok when err is nil, else with an error
// frame carrying ok's id.
func (c *Client) reply(ok *protocol.Frame, err error) {
	if err != nil {
		e := httpx.Classify(err)
		if e.Code == protocol.CodeInternal {
			c.logger().Error("command failed", "id", ok.ID, "err", err)
		}
		c.send(protocol.ErrorFrame(ok.ID, e))
		return
	}
	c.send(ok)
}

// async runs fn in a goroutine once a pending slot is free; it reports
// false when the client ended first.
func (c *Client) async(fn func()) bool {
	select {
	case c.pending <- struct{}{}:
	case <-c.ctx.Done():
		return false
	}
	// run lists the subscriptions as gone (under mu) before it waits for
	// the commands: an Add after that would race with its Wait.
	c.mu.Lock()
	if c.subs == nil {
		c.mu.Unlock()
		<-c.pending
		return false
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer func() {
			<-c.pending
			c.wg.Done()
		}()
		fn()
	}()
	return true
}

// publish hands the message to JetStream without waiting; the reply goes
// out when JetStream acks it. A pending slot is held until then.
func (c *Client) publish(f *protocol.Frame) {
	select {
	case c.pending <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	start := time.Now()
	err := c.h.opts.Broker.PublishAsync(bridge.Message{
		Subject: f.Subject, Data: f.Data, Header: f.Headers, MsgID: f.MsgID,
	}, func(ack bridge.PubAck, err error) {
		c.h.opts.Metrics.Published(metrics.Session, time.Since(start), ack.Duplicate, err)
		// The callback must not block: send never does.
		c.reply(&protocol.Frame{Type: protocol.TypeOK, ID: f.ID, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, err)
		<-c.pending
	})
	if err != nil {
		c.h.opts.Metrics.Published(metrics.Session, 0, false, err)
		<-c.pending
		c.reply(ok(f), err)
	}
}

// ackMetricKinds names the ack frame types in metrics.
var ackMetricKinds = map[protocol.FrameType]string{
	protocol.TypeAck: "ack", protocol.TypeNak: "nak", protocol.TypeTerm: "term", protocol.TypeProgress: "progress",
}

var ackKinds = map[protocol.FrameType]bridge.AckKind{
	protocol.TypeAck: bridge.Ack, protocol.TypeNak: bridge.Nak,
	protocol.TypeTerm: bridge.Term, protocol.TypeProgress: bridge.InProgress,
}

// ack answers a delivery. With an id the reply is ok (duplicate when
// this same delivery was answered so already) or an error; without one,
// only a failure is reported: an error frame without id that names the
// delivery, so the client can tell which ack did not count.
func (c *Client) ack(f *protocol.Frame) {
	req := bridge.AckRequest{
		Stream: f.Stream, Consumer: f.Consumer, StreamSeq: f.StreamSeq, ConsumerSeq: f.ConsumerSeq,
		Deliveries: f.Deliveries, Kind: ackKinds[f.Type], Delay: f.Delay, Reason: f.Reason, NoConfirm: f.ID == "",
	}
	kind := ackMetricKinds[f.Type]
	failed := func(err error) {
		if f.ID != "" {
			c.reply(ok(f), err)
			return
		}
		e := protocol.ErrorFrame("", httpx.Classify(err))
		e.Stream, e.Consumer, e.StreamSeq, e.ConsumerSeq = f.Stream, f.Consumer, f.StreamSeq, f.ConsumerSeq
		c.send(e)
	}
	if err := c.check(auth.Action{Kind: auth.Ack, Stream: f.Stream, Consumer: f.Consumer}); err != nil {
		c.h.opts.Metrics.Acked(metrics.Session, kind, 0, false, err)
		failed(err)
		return
	}
	key := ackKey{f.Stream, f.Consumer, f.StreamSeq}
	if req.NoConfirm && !c.ackInFlight(key) {
		// Most fire-and-forget acks are judged here and now: no goroutine
		// (unless an earlier ack of the same message is still on its way:
		// this one must not overtake it).
		start := time.Now()
		res, done, err := c.h.opts.Broker.TryAckNoWait(req)
		if done {
			c.h.opts.Metrics.Acked(metrics.Session, kind, time.Since(start), res.Duplicate, err)
			if err != nil {
				failed(err)
			}
			return
		}
	}
	c.inOrder(key, func() {
		start := time.Now()
		res, err := c.h.opts.Broker.Ack(c.ctx, req)
		c.h.opts.Metrics.Acked(metrics.Session, kind, time.Since(start), res.Duplicate, err)
		switch {
		case err != nil:
			failed(err)
		case f.ID != "":
			c.send(&protocol.Frame{Type: protocol.TypeOK, ID: f.ID, Duplicate: res.Duplicate})
		}
	})
}

// ackKey names one message of one consumer.
type ackKey struct {
	stream, consumer string
	seq              uint64
}

// ackInFlight reports whether an ack command of key is still running.
func (c *Client) ackInFlight(key ackKey) bool {
	c.amu.Lock()
	defer c.amu.Unlock()
	return c.acking[key] != nil
}

// inOrder runs fn like async, but after the earlier commands of the same
// key: a session's acknowledgements of one message reach JetStream in
// the order they came (a progress then a nak stay so), while those of
// different messages run side by side.
func (c *Client) inOrder(key ackKey, fn func()) {
	done := make(chan struct{})
	c.amu.Lock()
	prev := c.acking[key]
	c.acking[key] = done
	c.amu.Unlock()
	finish := func() {
		close(done)
		c.amu.Lock()
		if c.acking[key] == done {
			delete(c.acking, key)
		}
		c.amu.Unlock()
	}
	ok := c.async(func() {
		defer finish()
		if prev != nil {
			<-prev // it holds a pending slot already: it cannot wait on us
		}
		fn()
	})
	if !ok {
		finish()
	}
}

// ok is the success reply to command f.
func ok(f *protocol.Frame) *protocol.Frame {
	return &protocol.Frame{Type: protocol.TypeOK, ID: f.ID, Sub: f.Sub}
}
