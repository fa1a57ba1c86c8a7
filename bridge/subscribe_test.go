package bridge_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// recorder is a Receiver that keeps what it is given.
type recorder struct {
	ch    chan *bridge.Delivery
	ended chan error
}

func newRecorder() *recorder {
	return &recorder{ch: make(chan *bridge.Delivery, 10_000), ended: make(chan error, 1)}
}

func (r *recorder) Deliver(d *bridge.Delivery) { r.ch <- d }
func (r *recorder) Ended(err error)            { r.ended <- err }

func subscribe(t *testing.T, b *bridge.Bridge, o bridge.SubscribeOptions) (*bridge.Subscription, *recorder) {
	t.Helper()
	r := newRecorder()
	s, err := b.Subscribe(testenv.Context(t), o, r)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, r
}

func next(t *testing.T, r *recorder) *bridge.Delivery {
	t.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
		return nil
	}
}

// nothing asserts that no delivery comes within a short window.
func nothing(t *testing.T, r *recorder, within time.Duration) {
	t.Helper()
	select {
	case d := <-r.ch:
		t.Fatalf("unexpected delivery %+v", d)
	case <-time.After(within):
	}
}

func ended(t *testing.T, r *recorder) error {
	t.Helper()
	select {
	case err := <-r.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end within 10s")
		return nil
	}
}

func ack(t *testing.T, b *bridge.Bridge, a bridge.AckRequest) (bridge.AckResult, error) {
	t.Helper()
	return b.Ack(testenv.Context(t), a)
}

// modes are the kinds of consumers a subscriber may read: the push and
// pull modes of consumers httpmq makes (JetStream pull consumers both),
// and a JetStream push consumer made by another tool.
var modes = []string{"push", "pull", "jetstream-push"}

// makeConsumer makes consumer c of stream s in mode m.
func makeConsumer(t *testing.T, b *bridge.Bridge, s string, m string, c bridge.ConsumerConfig) {
	t.Helper()
	if m != "jetstream-push" {
		c.Push = m == "push"
		consumer(t, b, s, c)
		return
	}
	jc := jetstream.ConsumerConfig{Durable: c.Name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: c.AckWait,
		MaxDeliver: c.MaxDeliver, MaxAckPending: c.MaxAckPending, DeliverSubject: "deliver." + s + "." + c.Name,
		DeliverGroup: c.DeliverGroup, BackOff: c.BackOff}
	if len(c.FilterSubjects) == 1 {
		jc.FilterSubject = c.FilterSubjects[0]
	}
	if jc.MaxAckPending == 0 {
		jc.MaxAckPending = 1000
	}
	require.NoError(t, b.CreateJetStreamPushConsumer(testenv.Context(t), s, jc))
}

func TestSubscribeAckAndRedeliver(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b := env.Bridge
			stream(t, b, "testStream00", "test-subject.00", "test-subject.01")
			makeConsumer(t, b, "testStream00", mode, bridge.ConsumerConfig{Name: "c", AckWait: 500 * time.Millisecond,
				FilterSubjects: []string{"test-subject.01"}, MaxAckPending: 4})
			s, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "testStream00", Consumer: "c", Filter: "test-subject.01"})
			publish(t, b, "test-subject.01", 1)

			d := next(t, r)
			assert.Equal(t, "test-subject.01", d.Subject)
			assert.Equal(t, uint64(1), d.StreamSeq)
			assert.Equal(t, uint64(1), d.ConsumerSeq)
			assert.Equal(t, uint64(1), d.Deliveries)
			assert.Equal(t, []byte("m0"), d.Data)

			// Not acked: comes again with the same stream sequence, a higher consumer sequence.
			d2 := next(t, r)
			assert.Equal(t, uint64(1), d2.StreamSeq)
			assert.Equal(t, uint64(2), d2.ConsumerSeq)
			assert.Equal(t, uint64(2), d2.Deliveries)

			_, err := ack(t, b, d.AckRequest(bridge.Ack))
			require.ErrorIs(t, err, bridge.ErrNotPending, "ack of the delivery that expired")
			res, err := ack(t, b, d2.AckRequest(bridge.Ack))
			require.NoError(t, err)
			assert.False(t, res.Duplicate)
			res, err = ack(t, b, d2.AckRequest(bridge.Ack))
			require.NoError(t, err, "a retried ack")
			assert.True(t, res.Duplicate)
			_, err = ack(t, b, d2.AckRequest(bridge.Term))
			require.ErrorIs(t, err, bridge.ErrNotPending, "term after ack")
			_, err = ack(t, b, bridge.AckRequest{Stream: "testStream00", Consumer: "c", StreamSeq: 424242, ConsumerSeq: 9})
			require.ErrorIs(t, err, bridge.ErrNotPending, "never delivered")
			_, err = ack(t, b, bridge.AckRequest{Stream: "testStream00", Consumer: "nope", StreamSeq: 1, ConsumerSeq: 1})
			require.ErrorIs(t, err, bridge.ErrConsumerNotFound)
			_, err = ack(t, b, bridge.AckRequest{Stream: "missing", Consumer: "c", StreamSeq: 1, ConsumerSeq: 1})
			require.ErrorIs(t, err, bridge.ErrStreamNotFound)
			testenv.Eventually(t, fmt.Sprintf("credit released (in flight: %d)", s.InFlight()), func() bool { return s.InFlight() == 0 })
			info, err := b.Consumer(testenv.Context(t), "testStream00", "c")
			require.NoError(t, err)
			assert.Equal(t, 0, info.NumAckPending, "JetStream recorded the ack")
		})
	}
}

// TestInFlightIsJetStreams: a subscriber holds no more than its
// max_inflight from JetStream's point of view, and every ack (through
// this instance, another one, or straight to NATS) is replaced at once:
// a window of 5 acked one at a time stays at 5.
func TestInFlightIsJetStreams(t *testing.T) {
	for _, mode := range []string{"push", "pull"} {
		t.Run(mode, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			other := testenv.Connect(t, env.Server, 0) // another instance
			stream(t, b, "S", "s")
			makeConsumer(t, b, "S", mode, bridge.ConsumerConfig{Name: "c", AckWait: time.Minute, MaxAckPending: 5000})
			s, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 5})
			publish(t, b, "s", 40)
			window := func() []*bridge.Delivery {
				t.Helper()
				ds := make([]*bridge.Delivery, 5)
				for i := range ds {
					ds[i] = next(t, r)
				}
				return ds
			}
			held := window()
			nothing(t, r, 100*time.Millisecond)
			info, err := b.Consumer(ctx, "S", "c")
			require.NoError(t, err)
			assert.Equal(t, 5, info.NumAckPending, "JetStream's view")
			assert.Equal(t, uint64(5), info.Delivered.Stream, "nothing delivered beyond the window")

			for i := range 20 {
				via := b
				if i%2 == 1 {
					via = other
				}
				_, err := via.Ack(ctx, held[0].AckRequest(bridge.Ack))
				require.NoError(t, err)
				d := next(t, r)
				assert.Equal(t, uint64(1), d.Deliveries, "first delivery of %d", d.StreamSeq)
				held = append(held[1:], d)
				testenv.Eventually(t, "window full", func() bool { return s.InFlight() == 5 })
			}
			info, err = b.Consumer(ctx, "S", "c")
			require.NoError(t, err)
			assert.Equal(t, 5, info.NumAckPending)
		})
	}
}

// TestNothingDiesUnseen: with a consumer allowed 5,000 unacked, a
// subscriber of max_inflight 1, a short ack wait and max_retry 2, the
// messages the subscriber has not reached yet cost no delivery attempt:
// the one it sits on is delivered twice (its limit), then every other
// one reaches it on its first delivery.
func TestNothingDiesUnseen(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: true, AckWait: 200 * time.Millisecond,
		MaxDeliver: 2, MaxAckPending: 5000})
	_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 1})
	publish(t, b, "s", 300)
	first := next(t, r)
	require.Equal(t, uint64(1), first.StreamSeq)
	info, err := b.Consumer(ctx, "S", "c")
	require.NoError(t, err)
	assert.Equal(t, 1, info.NumAckPending)
	assert.Equal(t, uint64(1), info.Delivered.Stream, "only the first message was delivered")
	again := next(t, r) // not acked: its ack wait ends, it comes again
	require.Equal(t, uint64(1), again.StreamSeq)
	require.Equal(t, uint64(2), again.Deliveries)
	for seq := uint64(2); seq <= 300; seq++ { // then it reached its limit: the others
		d := next(t, r)
		require.Equal(t, seq, d.StreamSeq)
		require.Equal(t, uint64(1), d.Deliveries, "message %d", seq)
		_, err := ack(t, b, d.AckRequest(bridge.Ack))
		require.NoError(t, err)
	}
	_, err = ack(t, b, again.AckRequest(bridge.Ack))
	require.ErrorIs(t, err, bridge.ErrNotPending, "the ack wait of its last delivery ended")
}

func TestNakWithDelay(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
	publish(t, b, "s", 1)
	d := next(t, r)
	nak := d.AckRequest(bridge.Nak)
	nak.Delay = 300 * time.Millisecond
	start := time.Now()
	_, err := ack(t, b, nak)
	require.NoError(t, err)
	res, err := ack(t, b, nak)
	require.NoError(t, err)
	assert.True(t, res.Duplicate, "a retried nak")
	_, err = ack(t, b, d.AckRequest(bridge.Ack))
	require.ErrorIs(t, err, bridge.ErrNotPending, "ack of a nak'ed delivery")
	d2 := next(t, r)
	assert.Equal(t, d.StreamSeq, d2.StreamSeq)
	assert.Equal(t, uint64(2), d2.Deliveries)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	_, err = ack(t, b, d2.AckRequest(bridge.InProgress))
	require.NoError(t, err)
	_, err = ack(t, b, d2.AckRequest(bridge.Term))
	require.NoError(t, err)
}

// TestAcksThroughAnotherInstance: an instance that did not deliver a
// message judges acks for it as exactly as the one that did, by asking.
func TestAcksThroughAnotherInstance(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	other := testenv.Connect(t, env.Server, 0)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: 300 * time.Millisecond, MaxAckPending: 10})
	_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 10})
	publish(t, b, "s", 2)
	d1, d2 := next(t, r), next(t, r)
	res, err := other.Ack(ctx, d1.AckRequest(bridge.Ack))
	require.NoError(t, err)
	assert.False(t, res.Duplicate)
	res, err = other.Ack(ctx, d1.AckRequest(bridge.Ack))
	require.NoError(t, err)
	assert.True(t, res.Duplicate, "retry through the same other instance")
	// The delivering instance knows it too (from the other's answer, or
	// from JetStream's confirmations).
	res, err = b.Ack(ctx, d1.AckRequest(bridge.Ack))
	require.NoError(t, err, "retry through the delivering instance")
	assert.True(t, res.Duplicate, "retry through the delivering instance")
	// d2 is not acked: it comes again; its first delivery's ack no longer counts.
	d2b := next(t, r)
	require.Equal(t, d2.StreamSeq, d2b.StreamSeq)
	_, err = other.Ack(ctx, d2.AckRequest(bridge.Ack))
	require.ErrorIs(t, err, bridge.ErrNotPending)
	_, err = other.Ack(ctx, d2b.AckRequest(bridge.Ack))
	require.NoError(t, err)
	info, err := b.Consumer(ctx, "S", "c")
	require.NoError(t, err)
	assert.Equal(t, 0, info.NumAckPending)
}

// TestAckAfterSubscriberLeft: deliveries stay the subscriber's to answer
// after it left, until their ack wait ends.
func TestAckAfterSubscriberLeft(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	s, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 2})
	publish(t, b, "s", 3)
	d1, d2 := next(t, r), next(t, r)
	s.Close()
	_, err := b.Ack(ctx, d1.AckRequest(bridge.Ack))
	require.NoError(t, err)
	_, err = b.Ack(ctx, d2.AckRequest(bridge.Nak))
	require.NoError(t, err)
	_, r2 := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 2})
	got := map[uint64]bool{}
	for range 2 {
		got[next(t, r2).StreamSeq] = true
	}
	assert.Equal(t, map[uint64]bool{2: true, 3: true}, got)
}

// TestUnsubscribeDrains: Drain hands over what JetStream sent before it
// learnt of the subscriber's departure; nothing comes after.
func TestUnsubscribeDrains(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	s, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 50})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		publish(t, b, "s", 200)
	}()
	for range 10 {
		next(t, r)
	}
	s.Drain(ctx)
	n := 10
	for len(r.ch) > 0 {
		<-r.ch
		n++
	}
	nothing(t, r, 200*time.Millisecond)
	wg.Wait()
	assert.Zero(t, s.Crossed())
	info, err := b.Consumer(ctx, "S", "c")
	require.NoError(t, err)
	assert.Equal(t, n, info.NumAckPending, "every delivery JetStream counts reached the subscriber")
}

func TestJetStreamPushConsumers(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	makeConsumer(t, b, "S", "jetstream-push", bridge.ConsumerConfig{Name: "c", MaxAckPending: 3})
	s, _ := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 1})
	assert.Equal(t, 3, s.MaxInFlight(), "JetStream pushes up to its max ack pending")
	assert.False(t, s.Pull())
	testenv.Eventually(t, "JetStream sees the subscriber", func() bool {
		ci, err := b.Consumer(ctx, "S", "c")
		return err == nil && ci.PushBound
	})
	// One subscriber at a time; a second one waits briefly, then is refused.
	_, err := b.Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: "c"}, newRecorder())
	require.ErrorIs(t, err, bridge.ErrConsumerBusy)
	// The next one is admitted as soon as the first left.
	s.Close()
	s2, err := b.Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: "c"}, newRecorder())
	require.NoError(t, err)
	s2.Close()

	require.NoError(t, b.CreateJetStreamPushConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "unbounded",
		AckPolicy: jetstream.AckExplicitPolicy, DeliverSubject: "deliver.unbounded", MaxAckPending: -1}))
	_, err = b.Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: "unbounded"}, newRecorder())
	require.ErrorIs(t, err, bridge.ErrUnboundedConsumer)
}

func TestSubscribeErrors(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s.>")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "pull", FilterSubjects: []string{"s.a"}})
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "grp", Push: true, DeliverGroup: "g"})
	tests := []struct {
		name string
		o    bridge.SubscribeOptions
		want error
	}{
		{"no stream", bridge.SubscribeOptions{Stream: "T", Consumer: "pull"}, bridge.ErrStreamNotFound},
		{"no consumer", bridge.SubscribeOptions{Stream: "S", Consumer: "x"}, bridge.ErrConsumerNotFound},
		{"group on pull", bridge.SubscribeOptions{Stream: "S", Consumer: "pull", Group: "g"}, bridge.ErrDeliverGroupMismatch},
		{"wrong group", bridge.SubscribeOptions{Stream: "S", Consumer: "grp", Group: "h"}, bridge.ErrDeliverGroupMismatch},
		{"narrower filter", bridge.SubscribeOptions{Stream: "S", Consumer: "pull", Filter: "s.b"}, bridge.ErrFilterMismatch},
		{"bad name", bridge.SubscribeOptions{Stream: "S.x", Consumer: "pull"}, bridge.ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Subscribe(ctx, tc.o, newRecorder())
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestSubscriptionsEnd: a subscription ends, saying why, when its
// consumer or stream is deleted, or when the bridge closes; errors keep
// their chain.
func TestSubscriptionsEnd(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			stream(t, b, "S", "s.>")
			stream(t, b, "T", "t.>")
			makeConsumer(t, b, "S", mode, bridge.ConsumerConfig{Name: "c"})
			makeConsumer(t, b, "T", mode, bridge.ConsumerConfig{Name: "c"})
			makeConsumer(t, b, "T", mode, bridge.ConsumerConfig{Name: "d"})
			_, r1 := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
			_, r2 := subscribe(t, b, bridge.SubscribeOptions{Stream: "T", Consumer: "c"})
			_, r3 := subscribe(t, b, bridge.SubscribeOptions{Stream: "T", Consumer: "d"})

			require.NoError(t, b.DeleteConsumer(ctx, "S", "c"))
			require.ErrorIs(t, ended(t, r1), bridge.ErrConsumerNotFound)
			require.NoError(t, b.DeleteStream(ctx, "T"))
			for _, r := range []*recorder{r2, r3} {
				err := ended(t, r)
				assert.True(t, errors.Is(err, bridge.ErrStreamNotFound) || errors.Is(err, bridge.ErrConsumerNotFound), "%v", err)
			}

			stream(t, b, "U", "u.>")
			makeConsumer(t, b, "U", mode, bridge.ConsumerConfig{Name: "c"})
			_, r4 := subscribe(t, b, bridge.SubscribeOptions{Stream: "U", Consumer: "c"})
			b.Close()
			err := ended(t, r4)
			require.ErrorIs(t, err, bridge.ErrClosed)
		})
	}
}

// TestSharedConsumers: several subscribers of one consumer share its
// messages; each is delivered to exactly one of them.
func TestSharedConsumers(t *testing.T) {
	for _, mode := range []string{"push", "pull", "jetstream-push"} {
		t.Run(mode, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			stream(t, b, "S", "s")
			cfg := bridge.ConsumerConfig{Name: "c", AckWait: time.Minute, MaxAckPending: 64}
			if mode != "pull" {
				cfg.DeliverGroup = "workers"
			}
			makeConsumer(t, b, "S", mode, cfg)
			const total = 600
			var mu sync.Mutex
			seen := map[uint64]int{}
			var wg sync.WaitGroup
			all := make(chan struct{})
			t.Cleanup(wg.Wait)
			t.Cleanup(func() { close(all) })
			for range 3 {
				_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 8})
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						var d *bridge.Delivery
						select {
						case d = <-r.ch:
						case <-all:
							return
						}
						mu.Lock()
						seen[d.StreamSeq]++
						mu.Unlock()
						a := d.AckRequest(bridge.Ack)
						a.NoConfirm = true
						if _, err := b.Ack(ctx, a); err != nil {
							t.Errorf("ack %d: %v", d.StreamSeq, err)
							return
						}
					}
				}()
			}
			publish(t, b, "s", total)
			testenv.Eventually(t, "all delivered", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(seen) == total
			})
			mu.Lock()
			for seq, n := range seen {
				assert.Equal(t, 1, n, "seq %d delivered %d times", seq, n)
			}
			mu.Unlock()
		})
	}
}

// TestDroppedAcksReconciled: acks the bridge never saw (its dispatch
// queue dropped them) are learnt from the consumer's ack floor once the
// loss is reported, and their credit comes back.
func TestDroppedAcksReconciled(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s.>")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Hour})
	publish(t, b, "s.a", 2)
	s, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 1})
	d := next(t, r)
	report := b.MissAcks("S", "c")

	js := natsClient(t, env) // an ack straight to JetStream, unseen by the bridge
	c, err := js.Consumer(ctx, "S", "c")
	require.NoError(t, err)
	nc := natsConn(t, env)
	ackSubject := fmt.Sprintf("$JS.ACK.S.c.1.%d.%d.0.0", d.StreamSeq, d.ConsumerSeq)
	_, err = nc.Request(ackSubject, []byte("+ACK"), 5*time.Second)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ci, err := c.Info(ctx)
		return err == nil && ci.AckFloor.Stream == d.StreamSeq
	}, 10*time.Second, 10*time.Millisecond)
	nothing(t, r, 100*time.Millisecond) // the credit is still taken
	assert.Equal(t, 1, s.InFlight())

	report()
	assert.Equal(t, uint64(2), next(t, r).StreamSeq, "the credit came back")
}
