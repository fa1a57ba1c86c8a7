package dataplane_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// TestSharedConsumer: three subscribers share 3,000 messages, each
// delivered to exactly one of them once and acked, for a push consumer
// with a delivery group and for a pull consumer.
func TestSharedConsumer(t *testing.T) {
	cases := []struct {
		name  string
		push  bool
		group string
		query string
	}{
		{"push with delivery group", true, "workers", "?delivery_group=workers&max_msg_inflight=20"},
		{"push, group taken from the consumer", true, "workers", "?max_msg_inflight=20"},
		{"pull", false, "", "?max_msg_inflight=20"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const n, subscribers = 3000, 3
			env, srv := newDataplane(t, "h2c", dataplane.Options{})
			b := env.Bridge
			createStream(t, b, "S", "jobs.*")
			createConsumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: c.push, DeliverGroup: c.group,
				AckWait: 30 * time.Second, MaxAckPending: 100})

			var mu sync.Mutex
			got := map[uint64]int{} // stream sequence → deliveries seen
			per := map[int]int{}    // subscriber → messages
			total := make(chan struct{}, n)
			var wg sync.WaitGroup
			t.Cleanup(wg.Wait) // after the subscriptions closed
			for i := range subscribers {
				sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c"+c.query, nil)
				wg.Go(func() {
					for {
						l, ok := <-sub.lines
						if !ok {
							return
						}
						d := decode(t, l)
						if d == nil {
							return
						}
						if !assert.NoError(t, srv.tryAck(*d)) {
							return
						}
						mu.Lock()
						got[d.Sequence.Stream]++
						per[i]++
						mu.Unlock()
						total <- struct{}{}
					}
				})
			}
			publishN(t, b, "jobs.x", n)
			for range n {
				select {
				case <-total:
				case <-time.After(20 * time.Second):
					mu.Lock()
					defer mu.Unlock()
					t.Fatalf("only %d of %d messages arrived", len(got), n)
				}
			}
			mu.Lock()
			assert.Len(t, got, n)
			for seq, times := range got {
				assert.Equal(t, 1, times, "stream sequence %d", seq)
			}
			assert.Len(t, per, subscribers, "every subscriber got messages: %v", per)
			mu.Unlock()
			info, err := b.Consumer(testenv.Context(t), "S", "c")
			require.NoError(t, err)
			assert.Equal(t, 0, info.NumAckPending)
			assert.Equal(t, 0, info.NumRedelivered)
		})
	}
}

// decode parses a delivery line, reporting failures without FailNow (it
// runs outside the test goroutine).
func decode(t *testing.T, l []byte) *dataplane.Delivery {
	var d dataplane.Delivery
	if !assert.NoError(t, json.Unmarshal(l, &d), "%s", l) || !assert.True(t, d.Success, "%s", l) {
		return nil
	}
	return &d
}

// TestAckThroughAnotherInstance: a subscriber on instance A acks through
// instance B; JetStream takes the ack and A's in-flight credit is
// released.
func TestAckThroughAnotherInstance(t *testing.T) {
	t.Parallel()
	env, a := newDataplane(t, "h2-tls", dataplane.Options{})
	b := serveBridge(t, testenv.Connect(t, env.Server, 2*time.Second), "h2c", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true, AckWait: time.Minute})
	publishN(t, env.Bridge, "s", 3)

	sub := a.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=1", nil)
	for seq := uint64(1); seq <= 3; seq++ {
		d := sub.next(t)
		require.Equal(t, seq, d.Sequence.Stream)
		sub.none(t, 100*time.Millisecond) // capped at one in flight
		b.ackOK(t, d)                     // through the other instance
	}
	info, err := env.Bridge.Consumer(testenv.Context(t), "S", "c")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), info.AckFloor.Stream)
}

// TestAckRace acks each message the instant its line is read, with a
// small in-flight cap: no ack is lost, so nothing stalls until the ack
// wait.
func TestAckRace(t *testing.T) {
	t.Parallel()
	const n = 2000
	env, srv := newDataplane(t, "h2c", dataplane.Options{})
	b := env.Bridge
	createStream(t, b, "S", "s")
	const ackWait = 30 * time.Second
	createConsumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: true, AckWait: ackWait})
	publishN(t, b, "s", n)

	start := time.Now()
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=4", nil)
	var wg sync.WaitGroup
	var slowest time.Duration
	last := time.Now()
	for i := range n {
		d := sub.next(t)
		if gap := time.Since(last); gap > slowest {
			slowest = gap
		}
		last = time.Now()
		require.Equal(t, uint64(i+1), d.Sequence.Stream)
		require.Equal(t, uint64(1), d.Deliveries, "redelivered: an ack was lost")
		wg.Go(func() { assert.NoError(t, srv.tryAck(d)) })
	}
	wg.Wait()
	t.Logf("%d messages in %v, longest gap %v", n, time.Since(start), slowest)
	assert.Less(t, slowest, ackWait/3, "a delivery stalled")
	assert.Less(t, time.Since(start), ackWait/2, "deliveries waited for the ack wait")
}

// TestMaxInFlight: with N unacked, no N+1th line comes until an ack.
func TestMaxInFlight(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(map[bool]string{true: "push", false: "pull"}[push], func(t *testing.T) {
			t.Parallel()
			env, srv := newDataplane(t, "http1", dataplane.Options{})
			createStream(t, env.Bridge, "S", "s")
			createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: push, AckWait: time.Minute})
			publishN(t, env.Bridge, "s", 5)
			sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=2", nil)
			d1, d2 := sub.next(t), sub.next(t)
			sub.none(t, 300*time.Millisecond)
			srv.ackOK(t, d2)
			d3 := sub.next(t)
			assert.Equal(t, uint64(3), d3.Sequence.Stream)
			sub.none(t, 200*time.Millisecond)
			srv.ackOK(t, d1)
			assert.Equal(t, uint64(4), sub.next(t).Sequence.Stream)
		})
	}
}

// TestDefaultMaxInFlight: without max_msg_inflight, a subscriber has one
// message in flight, as with the original httpmq.
func TestDefaultMaxInFlight(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	publishN(t, env.Bridge, "s", 2)
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
	d := sub.next(t)
	sub.none(t, 300*time.Millisecond)
	srv.ackOK(t, d)
	assert.Equal(t, uint64(2), sub.next(t).Sequence.Stream)
}

// TestDisconnectRedelivers: a subscriber leaves with a message unacked;
// its subscription is released at once, and the message comes to the
// next subscriber after the ack wait.
func TestDisconnectRedelivers(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2-tls", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	const ackWait = 700 * time.Millisecond
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true, AckWait: ackWait})
	publishN(t, env.Bridge, "s", 1)

	first := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
	d := first.next(t)
	left := time.Now()
	first.close()
	testenv.Eventually(t, "the subscription released", func() bool { return srv.Handler.ActiveSubscriptions() == 0 })

	// JetStream notices the push consumer's subscriber left.
	var second *subscription
	testenv.Eventually(t, "a new subscriber admitted", func() bool {
		s, a := srv.trySubscribe(t, "/v1/data/stream/S/consumer/c", nil)
		if s == nil {
			require.Equal(t, protocol.CodeConsumerBusy, a.code())
		}
		second = s
		return s != nil
	})
	d2 := second.next(t)
	assert.Equal(t, d.Sequence.Stream, d2.Sequence.Stream)
	assert.Equal(t, uint64(2), d2.Deliveries)
	assert.GreaterOrEqual(t, time.Since(left), ackWait/2)
	srv.ackOK(t, d2)
}

// TestPushConsumerShared: a push consumer without delivery group is served
// like a work queue to every subscriber of it (JetStream would refuse the
// second with "consumer is already bound"; httpmq's consumers are pull
// consumers underneath), each message going to one of them.
func TestPushConsumerShared(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true, AckWait: time.Minute})
	first := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=1", nil)
	second := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=1", nil)
	testenv.Eventually(t, "both subscribers asked for a message", func() bool {
		info, err := env.Bridge.Consumer(testenv.Context(t), "S", "c")
		return err == nil && info.NumWaiting == 2
	})
	publishN(t, env.Bridge, "s", 2)
	d1, d2 := first.next(t), second.next(t)
	assert.ElementsMatch(t, []uint64{1, 2}, []uint64{d1.Sequence.Stream, d2.Sequence.Stream})
	srv.ackOK(t, d1)
	srv.ackOK(t, d2)
}

// TestNakTermProgress exercises the acknowledgements beyond ack, on their
// own routes and through the ack route's type.
func TestNakTermProgress(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2c", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	const ackWait = 600 * time.Millisecond
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: ackWait})
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=10", nil)
	ok := func(route string, body any) {
		t.Helper()
		a := srv.ack(t, route, "S", "c", body)
		require.Equal(t, http.StatusOK, a.Status, "%s: %+v", route, a.Error)
	}

	t.Run("nak with delay", func(t *testing.T) {
		publishN(t, env.Bridge, "s", 1)
		d := sub.next(t)
		start := time.Now()
		ok("nak", map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream, "delay": "300ms"})
		d2 := sub.next(t)
		assert.Equal(t, d.Sequence.Stream, d2.Sequence.Stream)
		assert.Equal(t, uint64(2), d2.Deliveries)
		assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
		ok("ack", map[string]any{"consumer": d2.Sequence.Consumer, "stream": d2.Sequence.Stream, "type": "nak", "delay": 1})
		d3 := sub.next(t) // nak through the ack route, with a nanosecond delay
		assert.Equal(t, uint64(3), d3.Deliveries)
		srv.ackOK(t, d3)
	})
	t.Run("term", func(t *testing.T) {
		publishN(t, env.Bridge, "s", 1)
		d := sub.next(t)
		ok("term", map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream, "reason": "poison"})
		sub.none(t, ackWait+300*time.Millisecond) // never redelivered
		a := srv.ack(t, "ack", "S", "c", d.Sequence)
		assert.Equal(t, protocol.CodeAckNotPending, a.code())
	})
	t.Run("progress", func(t *testing.T) {
		publishN(t, env.Bridge, "s", 1)
		d := sub.next(t)
		// Keep working for three ack waits, saying so every third of one.
		tick := time.NewTicker(ackWait / 3)
		defer tick.Stop()
		deadline := time.Now().Add(3 * ackWait)
		for time.Now().Before(deadline) {
			select {
			case l := <-sub.lines:
				t.Fatalf("redelivered while in progress: %s", l)
			case <-tick.C:
				ok("progress", map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream})
			}
		}
		ok("ack", map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream, "type": "ack"})
		sub.none(t, ackWait+300*time.Millisecond)
	})
}

// TestConsumerDeletedEndsStream: errors after the stream started come as
// a final line, then the stream ends.
func TestConsumerDeletedEndsStream(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true})
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
	require.NoError(t, env.Bridge.DeleteConsumer(testenv.Context(t), "S", "c"))
	a := sub.final(t)
	assert.Equal(t, protocol.CodeConsumerNotFound, a.code())
	assert.Equal(t, sub.resp.Header.Get("Httpmq-Request-ID"), a.RequestID)
	testenv.Eventually(t, "the subscription released", func() bool { return srv.Handler.ActiveSubscriptions() == 0 })
}

// TestShutdownEndsStreams: Shutdown ends every stream with a final
// shutting_down line and refuses new subscriptions.
func TestShutdownEndsStreams(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			env, srv := newDataplane(t, proto, dataplane.Options{})
			createStream(t, env.Bridge, "S", "s")
			createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
			subs := []*subscription{
				srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil),
				srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil),
			}
			require.Equal(t, 2, srv.Handler.ActiveSubscriptions())
			done := make(chan error, 1)
			go func() { done <- srv.Handler.Shutdown(testenv.Context(t)) }()
			for _, s := range subs {
				a := s.final(t)
				assert.Equal(t, protocol.CodeShuttingDown, a.code())
			}
			require.NoError(t, <-done)
			assert.Equal(t, 0, srv.Handler.ActiveSubscriptions())
			s, a := srv.trySubscribe(t, "/v1/data/stream/S/consumer/c", nil)
			require.Nil(t, s)
			assert.Equal(t, http.StatusServiceUnavailable, a.Status)
			assert.Equal(t, protocol.CodeShuttingDown, a.code())
			// Publishing still works while the server drains.
			srv.publish(t, "s", "AA==")
		})
	}
}

// TestDisconnectReleases: over every protocol, a client that leaves ends
// its subscription at once (goleak in TestMain checks nothing lingers).
func TestDisconnectReleases(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			env, srv := newDataplane(t, proto, dataplane.Options{Heartbeat: -1})
			createStream(t, env.Bridge, "S", "s")
			createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true})
			sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
			require.Equal(t, 1, srv.Handler.ActiveSubscriptions())
			sub.close()
			testenv.Eventually(t, "the subscription released", func() bool { return srv.Handler.ActiveSubscriptions() == 0 })
			// The push consumer is free again.
			testenv.Eventually(t, "a new subscriber admitted", func() bool {
				s, _ := srv.trySubscribe(t, "/v1/data/stream/S/consumer/c", nil)
				return s != nil
			})
		})
	}
}
