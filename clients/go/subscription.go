package httpmq

import (
	"context"
	"iter"
	"sync"
	"time"
)

// Subscription is a stream of one consumer's messages, from
// [Session.Subscribe] or [DataClient.Subscribe]. Read it with Next or
// range over Messages, from one goroutine at a time; acknowledge the
// messages from any goroutine. Unsubscribe and Close may be called
// concurrently with everything.
//
// Messages received but not yet read are held by the subscription; the
// server sends no more than the subscription's max in-flight
// unacknowledged ones, so memory stays bounded.
type Subscription struct {
	id       string // session subscription id
	stream   string
	consumer string
	opts     SubscribeOptions
	subject  string                          // a live subscription's subject
	live     LiveOptions                     // where it started
	stop     func(ctx context.Context) error // ends it on the server's side

	mu     sync.Mutex
	queue  []*Message
	wake   chan struct{} // signalled when queue grows
	done   chan struct{} // closed when the subscription has ended
	err    error         // why it ended
	active bool          // session: the server accepted it at least once
	// live subscriptions: the last stream sequence received, and whether
	// the last subscribe recovered all it asked for
	lastSeq   uint64
	recovered bool
}

// SubscribeOptions are the optional parts of a subscription. nil is fine.
type SubscribeOptions struct {
	// Filter must equal or cover the consumer's filter subject; it never
	// narrows it.
	Filter string
	// Group must match a push consumer's delivery group.
	Group string
	// MaxInflight caps this subscriber's unacknowledged messages.
	// 0: the server's default (1 for REST).
	MaxInflight int
}

func newSubscription(stream, consumer string, opts *SubscribeOptions) *Subscription {
	s := &Subscription{stream: stream, consumer: consumer, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// Stream and Consumer name what the subscription reads.
func (s *Subscription) Stream() string   { return s.stream }
func (s *Subscription) Consumer() string { return s.consumer }

// push queues a received message; it reports false once the
// subscription has ended.
func (s *Subscription) push(m *Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if s.subject != "" {
		if m.StreamSeq != 0 && m.StreamSeq <= s.lastSeq {
			return true // already received before a reconnect
		}
		s.lastSeq = max(s.lastSeq, m.StreamSeq)
	}
	s.queue = append(s.queue, m)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// end ends the subscription with err, once. With drop, messages not yet
// read are discarded (the session is gone: they cannot be acked there).
func (s *Subscription) end(err error, drop bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	s.err = err
	if drop {
		s.queue = nil
	}
	close(s.done)
	return true
}

// Next returns the next message, waiting for one until ctx ends. Once the
// subscription has ended and its messages are read, it returns why:
// [ErrUnsubscribed], [ErrClosed], an *[APIError] (the server ended it:
// consumer deleted, say), or another error.
func (s *Subscription) Next(ctx context.Context) (*Message, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			m := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return m, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-s.wake:
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Messages ranges over the messages until the subscription ends; then
// [Subscription.Err] says why. Break out of the loop to stop reading
// (the subscription stays open).
//
//	for m := range sub.Messages() {
//		process(m)
//		_ = m.Ack(ctx)
//	}
func (s *Subscription) Messages() iter.Seq[*Message] {
	return func(yield func(*Message) bool) {
		for {
			m, err := s.Next(context.Background())
			if err != nil || !yield(m) {
				return
			}
		}
	}
}

// Done is closed when the subscription has ended.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription is open, then why it ended.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Unsubscribe ends the subscription. Messages received but not
// acknowledged are redelivered by JetStream after their ack wait; those
// already queued can still be read and acknowledged. It is idempotent.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	if !s.end(ErrUnsubscribed, false) {
		return nil
	}
	return s.stop(ctx)
}

// Close is Unsubscribe bounded by 10 seconds.
func (s *Subscription) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Unsubscribe(ctx)
}
