package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

func subscribe(t *testing.T, b *bridge.Bridge, o bridge.SubscribeOptions) *bridge.Subscription {
	t.Helper()
	s, err := b.Subscribe(testenv.Context(t), o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func next(t *testing.T, s *bridge.Subscription) *bridge.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := s.Next(ctx)
	require.NoError(t, err)
	return d
}

// nothing asserts that no delivery is available within a short window.
func nothing(t *testing.T, s *bridge.Subscription, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	d, err := s.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "unexpected delivery %+v", d)
}

func TestSubscribeAckAndRedeliver(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(map[bool]string{true: "push", false: "pull"}[push], func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			stream(t, b, "testStream00", "test-subject.00", "test-subject.01")
			consumer(t, b, "testStream00", bridge.ConsumerConfig{Name: "c", Push: push, AckWait: 500 * time.Millisecond,
				FilterSubjects: []string{"test-subject.01"}, MaxAckPending: 4})
			s := subscribe(t, b, bridge.SubscribeOptions{Stream: "testStream00", Consumer: "c", Filter: "test-subject.01"})
			publish(t, b, "test-subject.01", 1)

			d := next(t, s)
			assert.Equal(t, "test-subject.01", d.Subject)
			assert.Equal(t, uint64(1), d.StreamSeq)
			assert.Equal(t, uint64(1), d.ConsumerSeq)
			assert.Equal(t, uint64(1), d.Deliveries)
			assert.Equal(t, []byte("m0"), d.Data)

			// Not acked: comes again with the same stream sequence, a higher consumer sequence.
			d2 := next(t, s)
			assert.Equal(t, uint64(1), d2.StreamSeq)
			assert.Equal(t, uint64(2), d2.ConsumerSeq)
			assert.Equal(t, uint64(2), d2.Deliveries)

			require.NoError(t, b.Ack(ctx, d2.AckRequest(bridge.Ack)))
			err := b.Ack(ctx, d2.AckRequest(bridge.Ack))
			require.ErrorIs(t, err, bridge.ErrNotPending, "second ack")
			err = b.Ack(ctx, bridge.AckRequest{Stream: "testStream00", Consumer: "c", StreamSeq: 7, ConsumerSeq: 9})
			require.ErrorIs(t, err, bridge.ErrNotPending, "never delivered")
			err = b.Ack(ctx, bridge.AckRequest{Stream: "testStream00", Consumer: "nope", StreamSeq: 1, ConsumerSeq: 1})
			require.ErrorIs(t, err, bridge.ErrConsumerNotFound)
			testenv.Eventually(t, "credit released", func() bool { return s.InFlight() == 0 })
		})
	}
}

func TestInFlightCap(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(map[bool]string{true: "push", false: "pull"}[push], func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			stream(t, b, "S", "s")
			consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: push, AckWait: time.Minute})
			s := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 2})
			publish(t, b, "s", 5)
			d1, d2 := next(t, s), next(t, s)
			nothing(t, s, 200*time.Millisecond)
			assert.Equal(t, 2, s.InFlight())

			// An ack sent straight to NATS (as another instance would) releases credit.
			require.NoError(t, b.AckAsync(d1.AckRequest(bridge.Ack)))
			d3 := next(t, s)
			assert.Equal(t, uint64(3), d3.StreamSeq)
			require.NoError(t, b.Ack(ctx, d2.AckRequest(bridge.Term)))
			d4 := next(t, s)
			assert.Equal(t, uint64(4), d4.StreamSeq)
			require.NoError(t, b.Ack(ctx, d3.AckRequest(bridge.InProgress)))
			nothing(t, s, 100*time.Millisecond)
		})
	}
}

func TestNakWithDelay(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	s := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
	publish(t, b, "s", 1)
	d := next(t, s)
	nak := d.AckRequest(bridge.Nak)
	nak.Delay = 300 * time.Millisecond
	start := time.Now()
	require.NoError(t, b.Ack(ctx, nak))
	d2 := next(t, s)
	assert.Equal(t, d.StreamSeq, d2.StreamSeq)
	assert.Equal(t, uint64(2), d2.Deliveries)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
}

func TestPushWithoutGroupAdmitsOne(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: true})
	s := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
	_, err := b.Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
	require.ErrorIs(t, err, bridge.ErrConsumerBusy)
	require.NoError(t, s.Close())
	testenv.Eventually(t, "consumer unbound", func() bool {
		s2, err := b.Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: "c"})
		if err != nil {
			return false
		}
		return s2.Close() == nil
	})
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
			_, err := b.Subscribe(ctx, tc.o)
			require.ErrorIs(t, err, tc.want)
		})
	}
	s := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "pull", Filter: "s.>"})
	require.NoError(t, b.DeleteConsumer(ctx, "S", "pull"))
	_, err := s.Next(ctx)
	require.ErrorIs(t, err, bridge.ErrConsumerNotFound)
}

// TestSharedConsumers: several subscribers on one push group or one pull
// consumer share the messages; each is delivered to exactly one of them.
func TestSharedConsumers(t *testing.T) {
	for _, push := range []bool{true, false} {
		t.Run(map[bool]string{true: "push-group", false: "pull"}[push], func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			stream(t, b, "S", "s")
			cfg := bridge.ConsumerConfig{Name: "c", Push: push, AckWait: time.Minute, MaxAckPending: 64}
			if push {
				cfg.DeliverGroup = "workers"
			}
			consumer(t, b, "S", cfg)
			const total = 600
			var mu sync.Mutex
			seen := map[uint64]int{}
			var wg sync.WaitGroup
			t.Cleanup(wg.Wait)
			for range 3 {
				s := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 8})
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						d, err := s.Next(ctx)
						if err != nil {
							return
						}
						mu.Lock()
						seen[d.StreamSeq]++
						n := len(seen)
						mu.Unlock()
						if err := b.AckAsync(d.AckRequest(bridge.Ack)); err != nil {
							return
						}
						if n == total {
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
