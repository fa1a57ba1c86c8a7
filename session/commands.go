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
// order on the read loop; publishes and confirmed acks run concurrently,
// at most MaxPending at once, and reply when JetStream has answered.
func (s *session) dispatch(f *protocol.Frame) {
	switch f.Type {
	case protocol.TypePing:
		s.send(&protocol.Frame{Type: protocol.TypePong, ID: f.ID})
	case protocol.TypeSubscribe:
		if err := s.subscribe(f); err != nil {
			s.reply(ok(f), err)
		}
	case protocol.TypeUnsubscribe:
		s.reply(ok(f), s.unsubscribe(f))
	case protocol.TypeAuth:
		s.reply(ok(f), s.reauth(f))
	case protocol.TypePublish:
		a := auth.Action{Kind: auth.Publish, Subject: f.Subject, Header: f.Headers}
		if err := s.check(a); err != nil {
			s.h.opts.Metrics.Published(metrics.Session, 0, false, err)
			s.reply(ok(f), err)
			return
		}
		if err := s.h.opts.Gate.Limit(s.authCtx(), a, len(f.Data)); err != nil {
			s.h.opts.Metrics.Published(metrics.Session, 0, false, err)
			s.reply(ok(f), err)
			return
		}
		s.publish(f)
	case protocol.TypeAck, protocol.TypeNak, protocol.TypeTerm, protocol.TypeProgress:
		if err := s.check(auth.Action{Kind: auth.Ack, Stream: f.Stream, Consumer: f.Consumer}); err != nil {
			s.reply(ok(f), err)
			return
		}
		req := ackRequest(f)
		if f.ID == "" {
			if err := s.h.opts.Broker.AckAsync(req); err != nil {
				s.reply(ok(f), err)
			}
			return
		}
		s.async(func() { s.reply(ok(f), s.h.opts.Broker.Ack(s.ctx, req)) })
	default:
		s.send(protocol.ErrorFrame(f.ID, protocol.NewError(protocol.CodeUnknownFrameType, "frame type "+string(f.Type)+" is not a command")))
	}
}

// async runs fn in a goroutine once a pending slot is free.
func (s *session) async(fn func()) {
	select {
	case s.pending <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	s.wg.Add(1)
	go func() {
		defer func() {
			<-s.pending
			s.wg.Done()
		}()
		fn()
	}()
}

// publish hands the message to JetStream without waiting; the reply goes
// out when JetStream acks it. A pending slot is held until then.
func (s *session) publish(f *protocol.Frame) {
	select {
	case s.pending <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	start := time.Now()
	err := s.h.opts.Broker.PublishAsync(bridge.Message{
		Subject: f.Subject, Data: f.Data, Header: f.Headers, MsgID: f.MsgID,
	}, func(ack bridge.PubAck, err error) {
		s.h.opts.Metrics.Published(metrics.Session, time.Since(start), ack.Duplicate, err)
		s.replyLater(&protocol.Frame{Type: protocol.TypeOK, ID: f.ID, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, err)
	})
	if err != nil {
		s.h.opts.Metrics.Published(metrics.Session, 0, false, err)
		<-s.pending
		s.reply(ok(f), err)
	}
}

var ackKinds = map[protocol.FrameType]bridge.AckKind{
	protocol.TypeAck: bridge.Ack, protocol.TypeNak: bridge.Nak,
	protocol.TypeTerm: bridge.Term, protocol.TypeProgress: bridge.InProgress,
}

func ackRequest(f *protocol.Frame) bridge.AckRequest {
	return bridge.AckRequest{
		Stream: f.Stream, Consumer: f.Consumer, StreamSeq: f.StreamSeq, ConsumerSeq: f.ConsumerSeq,
		Deliveries: f.Deliveries, Kind: ackKinds[f.Type], Delay: f.Delay, Reason: f.Reason,
	}
}

func (s *session) subscribe(f *protocol.Frame) error {
	if err := s.check(auth.Action{Kind: auth.Subscribe, Stream: f.Stream, Consumer: f.Consumer}); err != nil {
		return err
	}
	s.mu.Lock()
	_, exists := s.subs[f.Sub]
	n := len(s.subs)
	s.mu.Unlock()
	switch {
	case exists:
		return httpx.NewError(protocol.CodeSubscriptionExists, "this session already has subscription "+f.Sub, "")
	case n >= s.h.opts.MaxSubscriptions:
		return httpx.NewError(protocol.CodeTooManySubscriptions, "the session is at its subscription limit", "")
	}
	bs, err := s.h.opts.Broker.Subscribe(s.ctx, bridge.SubscribeOptions{
		Stream: f.Stream, Consumer: f.Consumer, Filter: f.Filter, Group: f.Group, MaxInFlight: f.MaxInflight,
	})
	if err != nil {
		return err
	}
	sub := &subscription{s: s, id: f.Sub, bs: bs}
	s.mu.Lock()
	s.subs[f.Sub] = sub
	s.mu.Unlock()
	// The ok goes out before any delivery of this subscription.
	s.send(ok(f))
	s.wg.Add(1)
	go sub.pump()
	return nil
}

// ok is the success reply to command f.
func ok(f *protocol.Frame) *protocol.Frame {
	return &protocol.Frame{Type: protocol.TypeOK, ID: f.ID, Sub: f.Sub}
}

func (s *session) unsubscribe(f *protocol.Frame) error {
	s.mu.Lock()
	sub, ok := s.subs[f.Sub]
	delete(s.subs, f.Sub)
	s.mu.Unlock()
	if !ok {
		return httpx.NewError(protocol.CodeSubscriptionNotFound, "no subscription "+f.Sub+" on this session", "")
	}
	sub.stop()
	return nil
}

// forget removes a subscription the server ended, if it is still listed.
func (s *session) forget(sub *subscription) {
	s.mu.Lock()
	if s.subs[sub.id] == sub {
		delete(s.subs, sub.id)
	}
	s.mu.Unlock()
}
