package httpmq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/protocol"
)

// setConn makes c the current connection and releases the commands
// waiting for one. It returns the active subscriptions to restore.
func (s *Session) setConn(c *conn) []*Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = c
	s.hello = c.hello
	close(s.up)
	var active []*Subscription
	for _, sub := range s.subs {
		if sub.isActive() {
			active = append(active, sub)
		}
	}
	return active
}

// dropConn forgets c: commands sent on it learn that their reply will
// not come, new commands wait for the next connection.
func (s *Session) dropConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c {
		s.conn = nil
		s.up = make(chan struct{})
	}
	for id, cl := range s.calls {
		if cl.conn == c {
			delete(s.calls, id)
			close(cl.lost)
		}
	}
}

// run owns the session's connections: it reads c until it drops, then
// reconnects, until Close or a reason to give up. It closes s.done.
func (s *Session) run(c *conn) {
	defer func() {
		s.wg.Done()
		s.wg.Wait()
		s.closeTransports()
		close(s.done)
	}()
	var resubscribe []*Subscription
	for {
		err := s.serve(c, resubscribe)
		s.dropConn(c)
		if s.isClosed() {
			return // Close
		}
		code := protocol.CloseCode(websocket.CloseStatus(err))
		s.event(Event{Kind: EventDisconnected, URL: c.url, Err: err})
		switch {
		case s.opts.NoReconnect:
			s.giveUp(err)
			return
		case code != -1 && !code.Reconnect(),
			code == protocol.CloseAuthExpired && s.opts.Token == nil: // no fresh credentials to offer
			s.giveUp(&CloseError{Code: code, Reason: closeReason(err)})
			return
		case code == protocol.CloseGoingAway:
			s.urlIdx++ // elsewhere if possible
		}
		c, err = s.reconnect()
		if err != nil {
			if !s.isClosed() {
				s.giveUp(err)
			}
			return
		}
		resubscribe = s.setConn(c)
	}
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

// giveUp ends the session after a failure.
func (s *Session) giveUp(err error) {
	s.shutdown(err)
	s.event(Event{Kind: EventClosed, Err: err})
}

// reconnect dials the servers in turn, with back-off, until one answers.
func (s *Session) reconnect() (*conn, error) {
	var last error
	for n := 1; s.opts.MaxReconnects <= 0 || n <= s.opts.MaxReconnects; n++ {
		t := time.NewTimer(s.backoff(n))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return nil, ErrClosed
		case <-t.C:
		}
		u := s.urls[s.urlIdx%len(s.urls)]
		c, err := s.connect(s.ctx, u)
		if err == nil {
			s.event(Event{Kind: EventReconnected, URL: u, Attempt: n})
			return c, nil
		}
		if s.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if errors.Is(err, ErrToken) {
			s.event(Event{Kind: EventTokenError, URL: u, Err: err, Attempt: n})
		}
		last = err
		s.urlIdx++
	}
	return nil, fmt.Errorf("httpmq: gave up after %d reconnect attempts: %w", s.opts.MaxReconnects, last)
}

// serve reads c until it fails, restoring subs meanwhile. It returns the
// read error.
func (s *Session) serve(c *conn, subs []*Subscription) error {
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.writer(c)
	}()
	go func() {
		defer s.wg.Done()
		s.restore(c, subs)
	}()
	if s.opts.Token != nil && !c.tokenExp.IsZero() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.refresher(c)
		}()
	}
	if s.opts.PingInterval > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.pinger(c)
		}()
	}
	defer close(c.down)
	// The session's end closes the connection, which ends the read in
	// progress: reading with the session's context instead would register
	// and remove a callback on it for every message.
	stop := context.AfterFunc(s.ctx, func() { c.close(0, "") })
	defer stop()
	for {
		frames, err := s.read(context.Background(), c)
		if err != nil {
			var de *protocol.DecodeError
			if errors.As(err, &de) {
				continue // a newer server's frame we cannot read: skip it
			}
			c.close(0, "")
			return err
		}
		for _, f := range frames {
			s.dispatch(f)
		}
	}
}

// dispatch routes one frame from the server.
func (s *Session) dispatch(f *protocol.Frame) {
	switch f.Type {
	case protocol.TypeOK, protocol.TypeError, protocol.TypePong:
		if f.ID == "" {
			if f.Type == protocol.TypeError {
				s.event(Event{Kind: EventServerError, Err: frameError(f)})
			}
			return
		}
		s.mu.Lock()
		cl := s.calls[f.ID]
		delete(s.calls, f.ID)
		if cl != nil && cl.sub != nil && f.Type == protocol.TypeOK {
			cl.sub.setActive(f.Recovered) // before any msg of it, which follow the ok
		}
		s.mu.Unlock()
		if cl != nil {
			cl.reply <- f // buffered, one reply per call
		}
	case protocol.TypeMsg:
		s.mu.Lock()
		sub := s.subs[f.Sub]
		s.mu.Unlock()
		if sub == nil {
			return // unsubscribed: JetStream redelivers it after the ack wait
		}
		sub.push(&Message{
			Subject: f.Subject, Stream: f.Stream, Consumer: f.Consumer,
			StreamSeq: f.StreamSeq, ConsumerSeq: f.ConsumerSeq, Deliveries: f.Deliveries,
			Pending: f.Pending, Time: f.Timestamp(), Header: Header(f.Headers), Data: f.Data, acker: s,
		})
	case protocol.TypeClosed:
		s.mu.Lock()
		sub := s.subs[f.Sub]
		delete(s.subs, f.Sub)
		s.mu.Unlock()
		if sub != nil && sub.end(frameError(f), false) {
			s.event(Event{Kind: EventSubscriptionLost, Sub: sub, Err: frameError(f)})
		}
	}
}

// restore subscribes subs again on a new connection. A retryable refusal
// is retried with back-off while c lasts; another one ends the
// subscription.
func (s *Session) restore(c *conn, subs []*Subscription) {
	for _, sub := range subs {
		for n := 1; ; n++ {
			err := s.subscribeOn(c, sub)
			if err == nil {
				s.event(Event{Kind: EventResubscribed, URL: c.url, Sub: sub})
				break
			}
			var api *APIError
			if !errors.As(err, &api) || api.Retryable {
				t := time.NewTimer(s.backoff(n))
				select {
				case <-t.C:
					continue
				case <-c.down:
					t.Stop()
					return // the next connection restores it
				}
			}
			s.mu.Lock()
			if s.subs[sub.id] == sub {
				delete(s.subs, sub.id)
			}
			s.mu.Unlock()
			if sub.end(err, false) {
				s.event(Event{Kind: EventSubscriptionLost, URL: c.url, Sub: sub, Err: err})
			}
			break
		}
	}
}

// subscribeOn sends sub's subscribe command on c and waits for the reply.
func (s *Session) subscribeOn(c *conn, sub *Subscription) error {
	cl := s.newCall(sub)
	if !s.register(cl, c) {
		return ErrConnectionLost
	}
	return s.await(context.Background(), cl, sub.frame(cl.id))
}

// pinger drops c when a ping goes unanswered for an interval.
func (s *Session) pinger(c *conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.down:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.PingInterval)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			c.close(0, "") // the reader notices and the session reconnects
			return
		}
	}
}
