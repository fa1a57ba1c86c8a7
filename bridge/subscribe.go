package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscribeOptions choose what a [Subscription] reads.
type SubscribeOptions struct {
	Stream, Consumer string
	// Filter, when set, must equal or cover the consumer's filter
	// subjects: one subscriber cannot narrow a consumer.
	Filter string
	// Group must match a push consumer's delivery group; empty takes the
	// consumer's.
	Group string
	// MaxInFlight caps this subscriber's unacknowledged deliveries.
	// ≤ 0 takes the consumer's max ack pending (1000 when unlimited).
	MaxInFlight int
}

// Delivery is one message handed to a subscriber.
type Delivery struct {
	Stream, Consumer string
	// Subject the message was published to.
	Subject     string
	StreamSeq   uint64
	ConsumerSeq uint64
	// Deliveries counts deliveries of this message, this one included.
	Deliveries uint64
	// Pending is how many messages the consumer holds after this one.
	Pending uint64
	// Time the message was stored.
	Time   time.Time
	Header map[string][]string
	Data   []byte
}

// AckRequest acknowledges this delivery with the given kind.
func (d *Delivery) AckRequest(kind AckKind) AckRequest {
	return AckRequest{Stream: d.Stream, Consumer: d.Consumer, StreamSeq: d.StreamSeq,
		ConsumerSeq: d.ConsumerSeq, Deliveries: d.Deliveries, Kind: kind}
}

// Subscription reads one consumer for one subscriber, with at most
// MaxInFlight deliveries unacknowledged. It learns of acknowledgements by
// watching the consumer's ack subjects, so acks sent through any httpmq
// instance, or straight to NATS, release credit; a delivery not acked
// within the consumer's ack wait releases its credit too.
//
// Next must not be called concurrently; Close may be called from any
// goroutine, any number of times.
type Subscription struct {
	b       *Bridge
	stream  string
	name    string
	pull    bool
	max     int
	ackWait time.Duration

	mu       sync.Mutex
	queue    []*Delivery          // received, not yet handed out
	queued   map[uint64]*Delivery // by stream sequence
	inflight inflight             // handed out, unacked, with their ack deadlines
	err      error                // set once, when the subscription ends

	readable chan struct{} // Next may make progress
	credit   chan struct{} // the puller may fetch more
	done     chan struct{}
	cancel   context.CancelFunc
	watch    *consumerWatch     // shared with the bridge's other subscribers of this consumer
	deliver  *nats.Subscription // push consumers: the deliver subject
	wg       sync.WaitGroup
}

// Subscribe starts reading a consumer. Push consumers without a delivery
// group admit one subscriber at a time ([ErrConsumerBusy]); push
// consumers with a group and pull consumers admit any number, who share
// the messages.
func (b *Bridge) Subscribe(ctx context.Context, o SubscribeOptions) (*Subscription, error) {
	if o.Filter != "" {
		if err := ValidateSubject(o.Filter, true); err != nil {
			return nil, err
		}
	}
	rctx, cancel := b.ctx(ctx)
	ci, err := b.consumerInfo(rctx, o.Stream, o.Consumer)
	cancel()
	if err != nil {
		return nil, err
	}
	if err := checkFilter(o.Filter, ci); err != nil {
		return nil, err
	}
	cfg := ci.Config
	push := cfg.DeliverSubject != ""
	switch {
	case !push && o.Group != "":
		return nil, fmt.Errorf("%w: %s is a pull consumer; delivery groups are for push consumers", ErrDeliverGroupMismatch, o.Consumer)
	case push && o.Group != "" && o.Group != cfg.DeliverGroup:
		return nil, fmt.Errorf("%w: consumer %s delivers to group %q, not %q", ErrDeliverGroupMismatch, o.Consumer, cfg.DeliverGroup, o.Group)
	case push && cfg.DeliverGroup == "" && ci.PushBound:
		return nil, fmt.Errorf("%w: %s", ErrConsumerBusy, o.Consumer)
	}
	limit := o.MaxInFlight
	if limit <= 0 {
		limit = cfg.MaxAckPending
	}
	if limit <= 0 {
		limit = 1000
	}
	ackWait := cfg.AckWait
	for _, d := range cfg.BackOff {
		ackWait = max(ackWait, d)
	}
	sctx, scancel := context.WithCancel(context.Background())
	s := &Subscription{
		b: b, stream: o.Stream, name: o.Consumer, pull: !push, max: limit, ackWait: ackWait,
		queued: map[uint64]*Delivery{}, inflight: newInflight(),
		readable: make(chan struct{}, 1), credit: make(chan struct{}, 1), done: make(chan struct{}),
		cancel: scancel,
	}
	// Watch acks before anything is delivered.
	if s.watch, err = b.join(s); err != nil {
		scancel()
		return nil, err
	}
	if push {
		var sub *nats.Subscription
		if cfg.DeliverGroup != "" {
			sub, err = b.nc.QueueSubscribe(cfg.DeliverSubject, cfg.DeliverGroup, s.receivePush)
		} else {
			sub, err = b.nc.Subscribe(cfg.DeliverSubject, s.receivePush)
		}
		if err != nil {
			s.Close()
			return nil, classify(err)
		}
		s.deliver = sub
		fctx, fcancel := b.ctx(ctx)
		err = b.nc.FlushWithContext(fctx) // the server knows of the subscriber before we return
		fcancel()
		if err != nil {
			s.Close()
			return nil, classify(err)
		}
	} else {
		gctx, gcancel := b.ctx(ctx)
		cons, err := b.js.Consumer(gctx, o.Stream, o.Consumer)
		gcancel()
		if err != nil {
			s.Close()
			return nil, classify(err)
		}
		s.wg.Add(1)
		go s.pullLoop(sctx, cons)
	}
	return s, nil
}

// checkFilter accepts a subscriber's subject when it equals or covers the
// consumer's filters (or the consumer has none).
func checkFilter(filter string, ci *jetstream.ConsumerInfo) error {
	if filter == "" {
		return nil
	}
	filters := ci.Config.FilterSubjects
	if ci.Config.FilterSubject != "" {
		filters = append(filters, ci.Config.FilterSubject)
	}
	for _, f := range filters {
		if !SubjectMatches(filter, f) {
			return fmt.Errorf("%w: consumer %s reads %s, which %q does not cover",
				ErrFilterMismatch, ci.Name, strings.Join(filters, ", "), filter)
		}
	}
	return nil
}

// MaxInFlight is this subscriber's cap on unacknowledged deliveries.
func (s *Subscription) MaxInFlight() int { return s.max }

// Pull reports whether the consumer is a pull consumer.
func (s *Subscription) Pull() bool { return s.pull }

// Done is closed when the subscription has ended; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription runs, then why it ended
// ([ErrSubscriptionClosed] after Close, [ErrConsumerNotFound] when the
// consumer was deleted, [ErrUnavailable] when the bridge closed).
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next returns the next delivery, waiting while none is available or the
// in-flight cap is reached, until ctx ends or the subscription does.
func (s *Subscription) Next(ctx context.Context) (*Delivery, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return nil, err
		}
		now := time.Now()
		expired, next := s.inflight.expire(now, nil)
		var d *Delivery
		if len(s.queue) > 0 && s.inflight.len() < s.max {
			d = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			delete(s.queued, d.StreamSeq)
			s.inflight.set(d.StreamSeq, now.Add(s.ackWait))
		}
		s.mu.Unlock()
		for _, seq := range expired {
			s.watch.drop(seq, s)
		}
		if len(expired) > 0 {
			signal(s.credit)
		}
		if d != nil {
			s.watch.hold(d.StreamSeq, s)
			return d, nil
		}
		var timer *time.Timer
		var expiry <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			expiry = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.done:
		case <-s.readable:
		case <-expiry:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// InFlight is how many deliveries await acknowledgement.
func (s *Subscription) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight.len()
}

// Close ends the subscription. Messages received but not handed out are
// returned to JetStream at once; handed-out, unacked ones come again
// after the ack wait (they may still be acked, through any instance).
func (s *Subscription) Close() error {
	s.end(ErrSubscriptionClosed)
	s.wg.Wait()
	return nil
}

func (s *Subscription) end(why error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = why
	queue := s.queue
	s.queue, s.queued = nil, nil
	s.mu.Unlock()
	s.cancel()
	if s.deliver != nil {
		_ = s.deliver.Unsubscribe() // fails only when the connection is gone, which unsubscribes too
	}
	if s.watch != nil {
		s.b.leave(s.watch, s)
	}
	close(s.done)
	for _, d := range queue {
		_ = s.b.AckAsync(d.AckRequest(Nak)) // best effort: otherwise redelivered after the ack wait
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// enqueue adds a received message; a redelivery of a message still
// queued replaces it.
func (s *Subscription) enqueue(d *Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if old, ok := s.queued[d.StreamSeq]; ok {
		*old = *d
		return true
	}
	s.inflight.remove(d.StreamSeq) // redelivered: the old delivery expired
	s.queue = append(s.queue, d)
	s.queued[d.StreamSeq] = d
	signal(s.readable)
	return true
}

// acked releases the credit of an acknowledged delivery, or restarts its
// ack wait for an in-progress ack.
func (s *Subscription) acked(seq uint64, progress bool) {
	s.mu.Lock()
	if !s.inflight.has(seq) {
		s.mu.Unlock()
		return
	}
	if progress {
		s.inflight.set(seq, time.Now().Add(s.ackWait))
		s.mu.Unlock()
		return
	}
	s.inflight.remove(seq)
	s.mu.Unlock()
	signal(s.readable)
	signal(s.credit)
}

func (s *Subscription) receivePush(m *nats.Msg) {
	if m.Header.Get("Status") != "" {
		// Idle heartbeat or flow control request of a push consumer.
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
		return
	}
	md, err := m.Metadata()
	if err != nil {
		return // not a JetStream delivery
	}
	d := &Delivery{
		Stream: s.stream, Consumer: s.name, Subject: m.Subject,
		StreamSeq: md.Sequence.Stream, ConsumerSeq: md.Sequence.Consumer,
		Deliveries: md.NumDelivered, Pending: md.NumPending, Time: md.Timestamp,
		Header: m.Header, Data: m.Data,
	}
	if !s.enqueue(d) {
		_ = m.Nak()
	}
}

// pullLoop fetches as many messages as there is credit for.
func (s *Subscription) pullLoop(ctx context.Context, cons jetstream.Consumer) {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	// Pull when half the credit is free (or all of it is), not on every
	// single ack: a pull request is a round trip, and one per message
	// would pace a busy subscriber by it.
	threshold := max(1, s.max/2)
	for {
		s.mu.Lock()
		held := s.inflight.len() + len(s.queue)
		s.mu.Unlock()
		free := s.max - held
		if free <= 0 || (free < threshold && held > 0) {
			select {
			case <-ctx.Done():
				return
			case <-s.credit:
				continue
			}
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		batch, err := cons.Fetch(min(free, 512), jetstream.FetchContext(fctx), jetstream.FetchHeartbeat(5*time.Second))
		if err == nil {
			for m := range batch.Messages() {
				md, merr := m.Metadata()
				if merr != nil {
					continue
				}
				d := &Delivery{
					Stream: s.stream, Consumer: s.name, Subject: m.Subject(),
					StreamSeq: md.Sequence.Stream, ConsumerSeq: md.Sequence.Consumer,
					Deliveries: md.NumDelivered, Pending: md.NumPending, Time: md.Timestamp,
					Header: m.Headers(), Data: m.Data(),
				}
				if !s.enqueue(d) {
					_ = m.Nak()
				}
			}
			err = batch.Error()
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			backoff = 50 * time.Millisecond
			continue
		}
		if err = classify(err); errors.Is(err, ErrConsumerNotFound) || errors.Is(err, ErrStreamNotFound) {
			s.end(err)
			return
		}
		if errClosed(err) {
			s.end(fmt.Errorf("%w: connection closed", ErrUnavailable))
			return
		}
		s.b.log.Debug("pull failed; retrying", "stream", s.stream, "consumer", s.name, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}
