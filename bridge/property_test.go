package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// propReceiver hands deliveries to the property test's client model.
type propReceiver struct {
	sub     atomic.Pointer[bridge.Subscription]
	max     int
	deliver func(r *propReceiver, d *bridge.Delivery)
	gone    atomic.Bool
}

func (r *propReceiver) Deliver(d *bridge.Delivery) { r.deliver(r, d) }
func (r *propReceiver) Ended(error)                { r.gone.Store(true) }

// msgState is what the model knows of one message of one consumer.
type msgState struct {
	handed int // deliveries handed to a client
	acked  int // acks (ack or term) answered as fresh successes
}

// TestDeliveryProperty: random mixes of push (with and without group)
// and pull consumers, subscribers with random max_inflight on two
// instances, clients that ack (through either instance, some late, some
// twice, some without waiting for the answer), nak, let the ack wait
// expire, or disconnect; short ack waits and a
// delivery limit. At the end JetStream holds nothing pending, every
// message was handed to a client, none was acknowledged twice as a
// fresh success (an ack that succeeded was recorded: a second one
// cannot count), and no subscriber ever held more than its
// max_inflight.
func TestDeliveryProperty(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { deliveryProperty(t, seed) })
	}
}

func deliveryProperty(t *testing.T, seed uint64) {
	const messages, maxDeliver = 120, 4
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b1, ctx := env.Bridge, testenv.Context(t)
	b2, err := bridge.Connect(ctx, bridge.Config{URLs: []string{env.Server.ClientURL()}, Logger: testenv.Logger()})
	require.NoError(t, err)
	t.Cleanup(b2.Close)
	instances := []*bridge.Bridge{b1, b2}

	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed))
	roll := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return rng.IntN(n)
	}
	stream(t, b1, "S", "s.>")
	type consumerModel struct {
		name, group string
		msgs        map[uint64]*msgState
	}
	var consumers []*consumerModel
	for i := range 3 {
		c := &consumerModel{name: fmt.Sprint("c", i), msgs: map[uint64]*msgState{}}
		cfg := bridge.ConsumerConfig{Name: c.name, MaxDeliver: maxDeliver,
			AckWait: time.Duration(250+roll(250)) * time.Millisecond, MaxAckPending: 5 + roll(40)}
		switch roll(3) {
		case 0:
			cfg.Push = true
		case 1:
			cfg.Push, cfg.DeliverGroup, c.group = true, "g", "g"
		}
		consumer(t, b1, "S", cfg)
		consumers = append(consumers, c)
	}
	publish(t, b1, "s.x", messages)

	var wg sync.WaitGroup
	var crossed atomic.Int64
	var subscribe func(c *consumerModel)
	var subs []*bridge.Subscription
	deliver := func(c *consumerModel) func(r *propReceiver, d *bridge.Delivery) {
		return func(r *propReceiver, d *bridge.Delivery) {
			if s := r.sub.Load(); s != nil {
				assert.LessOrEqual(t, s.InFlight(), r.max, "a subscriber held more than its max_inflight")
			}
			mu.Lock()
			m := c.msgs[d.StreamSeq]
			if m == nil {
				m = &msgState{}
				c.msgs[d.StreamSeq] = m
			}
			m.handed++
			act, delay, via := rng.IntN(100), time.Duration(rng.IntN(40))*time.Millisecond, instances[rng.IntN(2)]
			leave := rng.IntN(100) < 2
			// Some clients do not wait for the answer (fire and forget:
			// no success to count, but it may count at JetStream); some
			// send their answer twice, through both instances.
			noConfirm, twice := rng.IntN(100) < 15, rng.IntN(100) < 15
			mu.Unlock()
			req := d.AckRequest(bridge.Ack)
			req.NoConfirm = noConfirm
			switch {
			case act < 60:
			case act < 70:
				req.Kind = bridge.Term
			case act < 85:
				req.Kind = bridge.Nak
			default:
				req.Kind = -1 // let the ack wait expire
			}
			wg.Add(1)
			time.AfterFunc(delay, func() {
				defer wg.Done()
				if leave && !r.gone.Swap(true) { // the client disconnects, holding this one
					if s := r.sub.Load(); s != nil {
						s.Close()
						crossed.Add(int64(s.Crossed()))
					}
					subscribe(c)
					return
				}
				if req.Kind < 0 {
					return
				}
				vias := []*bridge.Bridge{via}
				if twice {
					vias = append(vias, instances[0], instances[1])
				}
				for i, via := range vias {
					if i > 0 {
						req.NoConfirm = false
					}
					res, err := via.Ack(ctx, req)
					switch {
					case errors.Is(err, bridge.ErrNotPending), errors.Is(err, bridge.ErrClosed), errors.Is(err, context.Canceled):
					case err != nil:
						t.Errorf("ack %d of %s: %v", d.StreamSeq, c.name, err)
					case !res.Duplicate && req.Kind != bridge.Nak && !req.NoConfirm:
						mu.Lock()
						m.acked++
						mu.Unlock()
					}
				}
			})
		}
	}
	subscribe = func(c *consumerModel) {
		r := &propReceiver{max: 1 + roll(5)}
		r.deliver = deliver(c)
		s, err := instances[roll(2)].Subscribe(ctx, bridge.SubscribeOptions{Stream: "S", Consumer: c.name, Group: c.group, MaxInFlight: r.max}, r)
		if err != nil {
			t.Errorf("subscribe %s: %v", c.name, err)
			return
		}
		r.sub.Store(s)
		mu.Lock()
		subs = append(subs, s)
		mu.Unlock()
	}
	for _, c := range consumers {
		for range 1 + roll(3) {
			subscribe(c)
		}
	}

	// JetStream is done with every message: acknowledged, or out of
	// deliveries.
	require.Eventually(t, func() bool {
		for _, c := range consumers {
			ci, err := b1.Consumer(ctx, "S", c.name)
			if err != nil || ci.NumPending != 0 || ci.NumAckPending != 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "messages still pending")
	mu.Lock()
	all := subs
	mu.Unlock()
	for _, s := range all {
		s.Close()
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, c := range consumers {
		for seq := uint64(1); seq <= messages; seq++ {
			m := c.msgs[seq]
			if !assert.NotNil(t, m, "%s: message %d was never handed to a client", c.name, seq) {
				continue
			}
			assert.LessOrEqual(t, m.acked, 1, "%s: message %d acknowledged twice as a fresh success", c.name, seq)
			assert.LessOrEqual(t, m.handed, maxDeliver, "%s: message %d handed out more than its delivery limit", c.name, seq)
		}
	}
	t.Logf("seed %d: %d deliveries crossed a leaving subscriber", seed, crossed.Load())
}
