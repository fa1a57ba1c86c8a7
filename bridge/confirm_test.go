package bridge_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestOnlyTheFirstAnswerCounts: two deliveries of one message answered
// through two instances, each judging its own delivery to await its ack
// (the stale judgement that no instance can rule out before sending):
// JetStream confirms both acks, but only the first one it processed
// counted, and both instances say so alike.
func TestOnlyTheFirstAnswerCounts(t *testing.T) {
	const n = 12
	env := testenv.New(t, testenv.Options{})
	b1, ctx := env.Bridge, testenv.Context(t)
	b2 := testenv.Connect(t, env.Server, 0)
	stream(t, b1, "S", "s")
	consumer(t, b1, "S", bridge.ConsumerConfig{Name: "c", AckWait: 500 * time.Millisecond, MaxDeliver: 10, MaxAckPending: n})
	publish(t, b1, "s", n)

	// Each message delivered through b1, then (its subscriber gone, its
	// ack wait over) again through b2.
	s1, r1 := subscribe(t, b1, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: n})
	first := map[uint64]*bridge.Delivery{}
	for len(first) < n {
		d := next(t, r1)
		first[d.StreamSeq] = d
	}
	s1.Close()
	_, r2 := subscribe(t, b2, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: n})
	again := map[uint64]*bridge.Delivery{}
	for len(again) < n {
		d := next(t, r2)
		again[d.StreamSeq] = d
	}

	// One after the other.
	d1, d2 := first[1].AckRequest(bridge.Ack), again[1].AckRequest(bridge.Ack)
	res, err := b2.Ack(ctx, d2)
	require.NoError(t, err)
	assert.False(t, res.Duplicate)
	_, err = b1.AckUnjudged(ctx, d1)
	require.ErrorIs(t, err, bridge.ErrNotPending, "the older delivery's ack came second")
	assert.Contains(t, err.Error(), fmt.Sprintf("through consumer sequence %d", d2.ConsumerSeq))
	for _, b := range []*bridge.Bridge{b1, b2} {
		res, err = b.Ack(ctx, d2)
		require.NoError(t, err)
		assert.True(t, res.Duplicate, "a retry of the ack that counted")
		res, err = b.AckUnjudged(ctx, d2)
		require.NoError(t, err)
		assert.True(t, res.Duplicate, "a retry of the ack that counted, sent again")
	}
	term := d2
	term.Kind = bridge.Term
	_, err = b2.Ack(ctx, term)
	require.ErrorIs(t, err, bridge.ErrNotPending)

	// A fire-and-forget ack (no answer to wait for) against a confirmed
	// one: the confirmed one counts only if JetStream took it first.
	ff, d2 := first[2].AckRequest(bridge.Ack), again[2].AckRequest(bridge.Ack)
	ff.NoConfirm = true
	_, err = b1.AckUnjudged(ctx, ff)
	require.NoError(t, err)
	res, err = b2.AckUnjudged(ctx, d2)
	won, lost := d2, first[2].AckRequest(bridge.Ack)
	if err != nil {
		require.ErrorIs(t, err, bridge.ErrNotPending)
		won, lost = lost, won
	} else {
		assert.False(t, res.Duplicate)
	}
	for _, b := range []*bridge.Bridge{b1, b2} {
		res, err = b.Ack(ctx, won)
		require.NoError(t, err)
		assert.True(t, res.Duplicate)
		_, err = b.Ack(ctx, lost)
		require.ErrorIs(t, err, bridge.ErrNotPending)
	}

	// At the same time: one of the two counts, whichever JetStream took
	// first, and both instances agree on which.
	for seq := uint64(3); seq <= n; seq++ {
		reqs := []bridge.AckRequest{first[seq].AckRequest(bridge.Ack), again[seq].AckRequest(bridge.Ack)}
		via := []*bridge.Bridge{b1, b2}
		errs := make([]error, 2)
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range reqs {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				res, err := via[i].AckUnjudged(ctx, reqs[i])
				if err == nil && res.Duplicate {
					err = fmt.Errorf("a duplicate")
				}
				errs[i] = err
			}()
		}
		start.Done()
		done.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, won, "message %d: both answers counted", seq)
				won = i
				continue
			}
			require.ErrorIs(t, err, bridge.ErrNotPending, "message %d", seq)
		}
		require.NotEqual(t, -1, won, "message %d: no answer counted", seq)
		for _, b := range via {
			res, err := b.Ack(ctx, reqs[won])
			require.NoError(t, err, "message %d", seq)
			assert.True(t, res.Duplicate, "message %d", seq)
			_, err = b.Ack(ctx, reqs[1-won])
			require.ErrorIs(t, err, bridge.ErrNotPending, "message %d", seq)
		}
	}
	info, err := b1.Consumer(ctx, "S", "c")
	require.NoError(t, err)
	assert.Equal(t, 0, info.NumAckPending)
}

// TestAnswerAfterTheLastDelivery: once JetStream gave up on a message
// (out of deliveries), an answer to its last delivery does not count,
// though JetStream confirms it.
func TestAnswerAfterTheLastDelivery(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s")
	consumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: 200 * time.Millisecond, MaxDeliver: 1, MaxAckPending: 10})
	publish(t, b, "s", 1)
	_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "S", Consumer: "c", MaxInFlight: 1})
	d := next(t, r)
	require.Eventually(t, func() bool {
		info, err := b.Consumer(ctx, "S", "c")
		return err == nil && info.NumAckPending == 0
	}, 10*time.Second, 20*time.Millisecond, "JetStream did not give up on the message")
	for _, send := range []func() (bridge.AckResult, error){
		func() (bridge.AckResult, error) { return b.AckUnjudged(ctx, d.AckRequest(bridge.Ack)) },
		func() (bridge.AckResult, error) { return b.Ack(ctx, d.AckRequest(bridge.Ack)) },
	} {
		_, err := send()
		require.ErrorIs(t, err, bridge.ErrNotPending)
		assert.Contains(t, err.Error(), "ran out of deliveries")
	}
}
