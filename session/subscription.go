package session

import (
	"errors"
	"sync"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// subscription is one of a client's subscriptions: the [bridge.Receiver]
// of its bridge subscription, turning deliveries into msg frames in the
// client's queue.
type subscription struct {
	c  *Client
	id string
	bs source
	// codec, for a live subscription over a transport whose frames are
	// the codec's: its messages come encoded once for all (see shared).
	codec protocol.Codec

	// Deliveries that arrive before the subscribe's ok is queued wait
	// here (no more than the credit), so that the ok comes first.
	mu      sync.Mutex
	started bool
	early   []queued
}

var _ bridge.Receiver = (*subscription)(nil)

// start queues ok (if any), then whatever arrived before it, and lets
// later deliveries through.
func (sub *subscription) start(ok *protocol.Frame) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if ok != nil {
		sub.c.send(ok)
	}
	for _, q := range sub.early {
		sub.c.enqueue(q)
	}
	sub.early, sub.started = nil, true
}

// msgFrameValue is the msg frame of d for subscription sub.
func msgFrameValue(d *bridge.Delivery, sub string) protocol.Frame {
	return protocol.Frame{
		Type: protocol.TypeMsg, Sub: sub, Subject: d.Subject, Stream: d.Stream, Consumer: d.Consumer,
		StreamSeq: d.StreamSeq, ConsumerSeq: d.ConsumerSeq, Deliveries: d.Deliveries, Pending: d.Pending,
		Time: d.Time.UnixNano(), Headers: d.Header, Data: d.Data,
	}
}

// msgFrames recycles the msg frames of deliveries, which live from
// Deliver to their encoding in the writer (a frame is 416 bytes, and a
// busy subscription delivers one per message).
var msgFrames = sync.Pool{New: func() any { return new(protocol.Frame) }}

// Deliver implements bridge.Receiver: the delivery is the client's once
// queued.
func (sub *subscription) Deliver(d *bridge.Delivery) {
	var q queued
	if sub.codec != nil {
		if b, err := sub.c.h.shared.encode(sub.codec, d, sub.id); err == nil {
			q = queued{enc: b, size: 64 + len(b)}
		}
	}
	if q.enc == nil {
		q.f = msgFrames.Get().(*protocol.Frame)
		*q.f = msgFrameValue(d, sub.id)
		q.size, q.pooled = frameSize(q.f), true
	}
	sub.mu.Lock()
	if !sub.started {
		sub.early = append(sub.early, q)
		sub.mu.Unlock()
		sub.c.h.opts.Metrics.Delivered(sub.c.transport(), d.Deliveries > 1)
		return
	}
	sub.mu.Unlock()
	sub.c.enqueue(q)
	sub.c.h.opts.Metrics.Delivered(sub.c.transport(), d.Deliveries > 1)
}

// Ended implements bridge.Receiver: the server ended the subscription
// (consumer deleted, NATS gone). The client learns why in a closed
// frame; a REST stream, whose only subscription it was, ends.
func (sub *subscription) Ended(err error) {
	if !sub.c.forget(sub) || errors.Is(err, bridge.ErrSubscriptionClosed) {
		return
	}
	e := httpx.Classify(err)
	if errors.Is(err, bridge.ErrClosed) {
		e = disconnectShutdown.Err
	}
	f := protocol.ErrorFrame("", e)
	f.Type, f.Sub = protocol.TypeClosed, sub.id
	sub.c.send(f)
	if sub.c.single {
		sub.c.close(disconnectNormal)
	}
}
