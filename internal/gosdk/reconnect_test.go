package gosdk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// restartable is an in-process httpmq (h2c and HTTP/1.1) on a fixed
// address over a fixed JetStream directory, stopped and started at will.
type restartable struct {
	t    *testing.T
	dir  string
	addr string

	srv  *server
	stop func()
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{t: t, dir: t.TempDir(), addr: freeAddr(t)}
	r.start()
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
	})
	return r
}

func (r *restartable) start() {
	t := r.t
	t.Helper()
	env := testenv.New(t, testenv.Options{Dir: r.dir})
	s := &server{env: env, URL: "http://" + r.addr, WSURL: "ws://" + r.addr + "/v1/session", client: &http.Client{Transport: &http.Transport{}}}
	h, shutdown := s.handler(env)
	hs := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	var l net.Listener
	testenv.Eventually(t, "listening on "+r.addr, func() bool {
		var err error
		l, err = net.Listen("tcp", r.addr)
		return err == nil
	})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(l) // ErrServerClosed
	}()
	r.srv = s
	r.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown(ctx)
		assert.NoError(t, hs.Shutdown(ctx))
		<-served
		s.client.CloseIdleConnections()
		env.Bridge.Close()
		env.Server.Shutdown()
		r.stop = nil
	}
}

// events records a session's events.
type events struct {
	mu   sync.Mutex
	list []httpmq.Event
}

func (e *events) add(ev httpmq.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func (e *events) count(k httpmq.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// The server is stopped and restarted on the same data directory while a
// publisher and a subscriber run: every message published with a
// successful ack is delivered and acked afterwards, and the subscriber
// resumes by itself.
func TestSessionReconnectAcrossRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   httpmq.Transport
		enc  httpmq.Encoding
		mode string
	}{
		{"h2c-json-push", httpmq.TransportHTTP2, httpmq.EncodingJSON, httpmq.ModePush},
		{"http1-msgpack-pull", httpmq.TransportHTTP1, httpmq.EncodingMsgpack, httpmq.ModePull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRestartable(t)
			setup(t, r.srv.admin(), "events", httpmq.NewConsumer{Name: "proc", Mode: tc.mode, AckWait: httpmq.Ptr(time.Second)})

			opts := httpmq.SessionOptions{
				Transport: tc.tr, Encoding: tc.enc,
				ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 300 * time.Millisecond,
			}
			var subEvents, pubEvents events
			subOpts, pubOpts := opts, opts
			subOpts.OnEvent = subEvents.add
			pubOpts.OnEvent = pubEvents.add
			pubOpts.RetryPublishes = true
			subscriber := r.srv.dial(t, &subOpts)
			publisher := r.srv.dial(t, &pubOpts)
			sub, err := subscriber.Subscribe(ctx(t), "events", "proc", &httpmq.SubscribeOptions{MaxInflight: 16})
			require.NoError(t, err)

			var mu sync.Mutex
			published := map[string]bool{} // payloads with a successful ack
			delivered := map[string]bool{} // payloads received
			acked := map[string]bool{}     // payloads whose ack was confirmed
			received := 0
			var ackErrs []error
			var pubErrs []error

			stopPub := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { // publisher
				for i := 0; ; i++ {
					select {
					case <-stopPub:
						return
					default:
					}
					payload := fmt.Sprintf("m-%05d", i)
					c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					_, err := publisher.Publish(c, "events.x", []byte(payload), nil)
					cancel()
					mu.Lock()
					if err == nil {
						published[payload] = true
					} else {
						pubErrs = append(pubErrs, err)
					}
					mu.Unlock()
				}
			})
			wg.Go(func() { // subscriber
				for m := range sub.Messages() {
					c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := m.Ack(c)
					cancel()
					mu.Lock()
					received++
					delivered[string(m.Data)] = true
					if err == nil {
						acked[string(m.Data)] = true
					} else {
						ackErrs = append(ackErrs, err)
					}
					mu.Unlock()
				}
			})
			progress := func() (int, int) {
				mu.Lock()
				defer mu.Unlock()
				return len(published), len(acked)
			}

			waitFor(t, "traffic before the restart", func() bool { p, a := progress(); return p >= 50 && a >= 50 })
			r.stop()
			waitFor(t, "both sessions to notice", func() bool {
				return subEvents.count(httpmq.EventDisconnected) > 0 && pubEvents.count(httpmq.EventDisconnected) > 0
			})
			p0, a0 := progress()
			r.start()
			waitFor(t, "traffic after the restart", func() bool { p, a := progress(); return p >= p0+50 && a >= a0+50 })
			close(stopPub)

			// Every message published with a successful ack was delivered,
			// and JetStream holds none unacknowledged: each was acked at
			// least once. (An ack whose confirmation was lost with the
			// connection may still have been recorded; if it was not, the
			// message came again and was acked then.)
			missing := func() []string {
				mu.Lock()
				defer mu.Unlock()
				var out []string
				for p := range published {
					if !delivered[p] {
						out = append(out, p)
					}
				}
				sort.Strings(out)
				return out
			}
			var ci *httpmq.ConsumerInfo
			allAcked := func() bool {
				ci, err = r.srv.admin().Consumer(ctx(t), "events", "proc")
				require.NoError(t, err)
				return ci.NumPending == 0 && ci.NumAckPending == 0
			}
			poll(30*time.Second, func() bool { return len(missing()) == 0 && allAcked() })
			si, err := r.srv.admin().Stream(ctx(t), "events")
			require.NoError(t, err)
			require.Empty(t, missing(), "acked publishes never delivered; consumer %+v, stream %+v", ci, si.State)
			require.True(t, allAcked(), "unacknowledged messages remain: %+v", ci)
			mu.Lock()
			assert.Equal(t, si.State.LastSeq, ci.AckFloor.StreamSeq, "the ack floor is the last message")
			assert.GreaterOrEqual(t, si.State.Messages, uint64(len(published)))
			for _, err := range ackErrs {
				// Acks cut by the restart, and acks of a redelivered copy
				// of a message whose first copy was acked meanwhile.
				if !errors.Is(err, httpmq.ErrConnectionLost) {
					assert.ErrorIs(t, err, &protocol.Error{Code: protocol.CodeAckNotPending})
				}
			}
			mu.Unlock()
			require.NoError(t, sub.Err(), "the subscription resumed by itself")
			assert.Positive(t, subEvents.count(httpmq.EventReconnected))
			assert.Positive(t, subEvents.count(httpmq.EventResubscribed))
			assert.Zero(t, subEvents.count(httpmq.EventSubscriptionLost))
			mu.Lock()
			assert.Empty(t, pubErrs, "with RetryPublishes no publish fails")
			t.Logf("published %d, received %d deliveries of %d messages, %d acks confirmed, %d failed",
				len(published), received, len(delivered), len(acked), len(ackErrs))
			mu.Unlock()

			require.NoError(t, sub.Close())
			require.NoError(t, subscriber.Close())
			wg.Wait()
		})
	}
}

// Without RetryPublishes, a publish in flight when the connection drops
// fails with ErrConnectionLost (or succeeds): never silently dropped; a
// later publish waits for the new connection.
func TestSessionPublishDuringOutage(t *testing.T) {
	r := newRestartable(t)
	setup(t, r.srv.admin(), "s", httpmq.NewConsumer{})
	var ev events
	s := r.srv.dial(t, &httpmq.SessionOptions{ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 200 * time.Millisecond, OnEvent: ev.add})
	r.stop()
	waitFor(t, "disconnection", func() bool { return ev.count(httpmq.EventDisconnected) > 0 })

	short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	defer cancel()
	_, err := s.Publish(short, "s.x", []byte("x"), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded, "waits for a connection within its context")

	done := make(chan error, 1)
	go func() {
		_, err := s.Publish(ctx(t), "s.x", []byte("y"), nil)
		done <- err
	}()
	r.start()
	select {
	case err := <-done:
		if err != nil {
			require.True(t, errors.Is(err, httpmq.ErrConnectionLost), "%v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("publish did not finish after the restart")
	}
	ack, err := s.Publish(ctx(t), "s.x", []byte("z"), nil)
	require.NoError(t, err)
	assert.Equal(t, "s", ack.Stream)
}

// With several servers, the session moves to another one when its
// server goes away, and subscribes there.
func TestSessionFailover(t *testing.T) {
	a, b := newRestartable(t), newRestartable(t)
	for _, r := range []*restartable{a, b} {
		setup(t, r.srv.admin(), "s", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePull})
	}
	var ev events
	s := a.srv.dial(t, &httpmq.SessionOptions{Servers: []string{b.srv.WSURL}, ReconnectWait: 10 * time.Millisecond, OnEvent: ev.add})
	sub, err := s.Subscribe(ctx(t), "s", "c", nil)
	require.NoError(t, err)
	a.stop()
	waitFor(t, "resubscription", func() bool { return ev.count(httpmq.EventResubscribed) > 0 })
	assert.Equal(t, b.srv.WSURL, s.Hello().URL)
	_, err = b.srv.data().Publish(ctx(t), "s.x", []byte("on b"), nil)
	require.NoError(t, err)
	m := next(t, sub)
	assert.Equal(t, []byte("on b"), m.Data)
	require.NoError(t, m.Ack(ctx(t)))
}

// waitFor polls cond until it holds, for at most 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(60*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// poll checks cond every 10 ms until it holds (true) or within passes.
func poll(within time.Duration, cond func() bool) bool {
	deadline := time.After(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// With MaxReconnects or NoReconnect the session ends when its server
// stays away, and says why.
func TestSessionGivesUp(t *testing.T) {
	for name, o := range map[string]httpmq.SessionOptions{
		"MaxReconnects": {MaxReconnects: 3, ReconnectWait: 10 * time.Millisecond, MaxReconnectWait: 20 * time.Millisecond},
		"NoReconnect":   {NoReconnect: true},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRestartable(t)
			setup(t, r.srv.admin(), "s", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePull})
			var ev events
			o.OnEvent = ev.add
			s := r.srv.dial(t, &o)
			sub, err := s.Subscribe(ctx(t), "s", "c", nil)
			require.NoError(t, err)
			r.stop()
			select {
			case <-s.Done():
			case <-time.After(20 * time.Second):
				t.Fatal("session did not give up")
			}
			require.Error(t, s.Err())
			assert.NotErrorIs(t, s.Err(), httpmq.ErrClosed)
			assert.Equal(t, 1, ev.count(httpmq.EventClosed))
			_, err = sub.Next(ctx(t))
			assert.Equal(t, s.Err(), err, "the subscription ends with the session")
			_, err = s.Publish(ctx(t), "s.x", nil, nil)
			assert.Equal(t, s.Err(), err)
		})
	}
}
