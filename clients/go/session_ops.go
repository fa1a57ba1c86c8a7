package httpmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// call is one command awaiting its reply.
type call struct {
	id    string
	sub   *Subscription // subscribe commands
	reply chan *protocol.Frame
	conn  *conn           // the connection it was sent on
	lost  chan struct{}   // closed when conn dropped before the reply
	last  *protocol.Frame // the ok or pong
}

func (s *Session) newCall(sub *Subscription) *call {
	return &call{id: s.nextID(), sub: sub, reply: make(chan *protocol.Frame, 1)}
}

// register records cl as sent on c; false when c is no longer current.
func (s *Session) register(cl *call, c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c || s.closed {
		return false
	}
	cl.conn = c
	cl.lost = make(chan struct{})
	s.calls[cl.id] = cl
	return true
}

func (s *Session) forget(cl *call) {
	s.mu.Lock()
	if s.calls[cl.id] == cl {
		delete(s.calls, cl.id)
	}
	s.mu.Unlock()
}

// waitConn returns the current connection with cl registered on it,
// waiting for one while the session reconnects.
func (s *Session) waitConn(ctx context.Context, cl *call) (*conn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			err := s.err
			s.mu.Unlock()
			return nil, err
		}
		c, up := s.conn, s.up
		s.mu.Unlock()
		if c != nil && s.register(cl, c) {
			return c, nil
		}
		if c != nil {
			continue
		}
		select {
		case <-up:
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// await sends f (with cl's id) on cl's connection and waits for the
// reply: nil for ok and pong, an *APIError for an error frame.
func (s *Session) await(ctx context.Context, cl *call, f *protocol.Frame) error {
	f.ID = cl.id
	if err := s.write(cl.conn, f); err != nil {
		s.forget(cl)
		cl.conn.close(0, "") // a failed write leaves the stream unusable
		if s.isClosed() {
			return s.Err()
		}
		return fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	select {
	case r := <-cl.reply:
		if r.Type == protocol.TypeError {
			return frameError(r)
		}
		cl.last = r
		return nil
	case <-cl.lost:
		if s.isClosed() {
			return s.Err()
		}
		return ErrConnectionLost
	case <-ctx.Done():
		s.forget(cl)
		return ctx.Err()
	}
}

// do runs a command; with retry, a connection lost before the reply
// sends it again on the next connection.
func (s *Session) do(ctx context.Context, f *protocol.Frame, sub *Subscription, retry bool) (*protocol.Frame, error) {
	cl := s.newCall(sub)
	for {
		if _, err := s.waitConn(ctx, cl); err != nil {
			return nil, err
		}
		err := s.await(ctx, cl, f)
		if err == nil {
			return cl.last, nil
		}
		if !retry || !isLost(err) {
			return nil, err
		}
		cl = s.newCall(sub)
	}
}

func isLost(err error) bool { return errors.Is(err, ErrConnectionLost) }

// Publish publishes data to subject and returns JetStream's ack. It waits
// for a connection while the session reconnects (bounded by ctx). When
// the connection drops before the ack, it fails with [ErrConnectionLost]
// or, with [SessionOptions.RetryPublishes], publishes again.
func (s *Session) Publish(ctx context.Context, subject string, data []byte, opts *PublishOptions) (PubAck, error) {
	f := &protocol.Frame{Type: protocol.TypePublish, Subject: subject, Data: data}
	if opts != nil {
		f.MsgID, f.Headers = opts.MsgID, protocol.Header(opts.Header)
	}
	if s.opts.RetryPublishes && f.MsgID == "" {
		f.MsgID = randomID()
	}
	r, err := s.do(ctx, f, nil, s.opts.RetryPublishes)
	if err != nil {
		return PubAck{}, err
	}
	return PubAck{Stream: r.Stream, Sequence: r.Seq, Duplicate: r.Duplicate}, nil
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails
	return "httpmq-go-" + hex.EncodeToString(b)
}

// Subscribe starts receiving a consumer's messages. The subscription
// survives reconnections: the session subscribes again on each new
// connection (telling OnEvent), and ends it only when the server refuses
// for good (consumer deleted, say). opts may be nil.
func (s *Session) Subscribe(ctx context.Context, stream, consumer string, opts *SubscribeOptions) (*Subscription, error) {
	return s.start(ctx, newSubscription(stream, consumer, opts))
}

// start subscribes sub on the session.
func (s *Session) start(ctx context.Context, sub *Subscription) (*Subscription, error) {
	sub.id = s.nextID()
	sub.stop = func(ctx context.Context) error { return s.unsubscribe(ctx, sub) }
	s.mu.Lock()
	if s.closed {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.subs[sub.id] = sub
	s.mu.Unlock()
	if _, err := s.do(ctx, sub.frame(""), sub, true); err != nil {
		s.mu.Lock()
		if s.subs[sub.id] == sub {
			delete(s.subs, sub.id)
		}
		s.mu.Unlock()
		sub.end(err, true)
		if ctx.Err() != nil {
			// Given up before the answer: the server may have made the
			// subscription anyway; end it rather than leave it holding
			// messages nobody reads until their ack wait.
			go func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = s.unsubscribe(uctx, sub)
			}()
		}
		return nil, err
	}
	return sub, nil
}

// frame is sub's subscribe command.
func (sub *Subscription) frame(id string) *protocol.Frame {
	if sub.subject != "" {
		return sub.liveFrame(id)
	}
	return &protocol.Frame{Type: protocol.TypeSubscribe, ID: id, Sub: sub.id, Stream: sub.stream, Consumer: sub.consumer,
		Filter: sub.opts.Filter, Group: sub.opts.Group, MaxInflight: sub.opts.MaxInflight}
}

func (sub *Subscription) setActive(recovered bool) {
	sub.mu.Lock()
	sub.active, sub.recovered = true, recovered
	sub.mu.Unlock()
}

func (sub *Subscription) isActive() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.active && sub.err == nil
}

// unsubscribe ends sub on the server, if connected: on a lost or new
// connection the subscription is gone anyway.
func (s *Session) unsubscribe(ctx context.Context, sub *Subscription) error {
	s.mu.Lock()
	if s.subs[sub.id] == sub {
		delete(s.subs, sub.id)
	}
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	cl := s.newCall(nil)
	if !s.register(cl, c) {
		return nil
	}
	err := s.await(ctx, cl, &protocol.Frame{Type: protocol.TypeUnsubscribe, Sub: sub.id})
	if err == nil || isLost(err) || errorIsCode(err, protocol.CodeSubscriptionNotFound) {
		return nil
	}
	return err
}

func errorIsCode(err error, code protocol.Code) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

var ackTypes = map[AckKind]protocol.FrameType{
	"": protocol.TypeAck, KindAck: protocol.TypeAck, KindNak: protocol.TypeNak,
	KindTerm: protocol.TypeTerm, KindInProgress: protocol.TypeProgress,
}

// Ack acknowledges (or naks, terms, extends) a delivered message by its
// numbers and waits for JetStream's confirmation. Any session may
// acknowledge any delivery. When the connection drops before the
// confirmation it fails with [ErrConnectionLost]: if the ack was lost,
// the message is redelivered after its ack wait.
func (s *Session) Ack(ctx context.Context, r AckRequest) error {
	typ, ok := ackTypes[r.Kind]
	if !ok {
		return fmt.Errorf("%w: ack kind %q", ErrInvalidOption, r.Kind)
	}
	_, err := s.do(ctx, &protocol.Frame{Type: typ, Stream: r.Stream, Consumer: r.Consumer,
		StreamSeq: r.StreamSeq, ConsumerSeq: r.ConsumerSeq, Deliveries: r.Deliveries,
		Delay: r.Delay, Reason: r.Reason}, nil, false)
	return err
}

func (s *Session) ack(ctx context.Context, r AckRequest) error { return s.Ack(ctx, r) }

// ackNoWait sends an acknowledgement without an id: no reply on success.
func (s *Session) ackNoWait(r AckRequest) error {
	typ, ok := ackTypes[r.Kind]
	if !ok {
		return fmt.Errorf("%w: ack kind %q", ErrInvalidOption, r.Kind)
	}
	s.mu.Lock()
	c, closed, err := s.conn, s.closed, s.err
	s.mu.Unlock()
	switch {
	case closed:
		return err
	case c == nil:
		return ErrConnectionLost
	}
	if err := s.write(c, &protocol.Frame{Type: typ, Stream: r.Stream, Consumer: r.Consumer,
		StreamSeq: r.StreamSeq, ConsumerSeq: r.ConsumerSeq, Deliveries: r.Deliveries,
		Delay: r.Delay, Reason: r.Reason}); err != nil {
		c.close(0, "")
		return fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	return nil
}

// Ping sends an application-level ping and waits for the pong.
func (s *Session) Ping(ctx context.Context) error {
	_, err := s.do(ctx, &protocol.Frame{Type: protocol.TypePing}, nil, false)
	return err
}
