package bridge_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

func listen(t *testing.T, b *bridge.Bridge, o bridge.LiveOptions) (*bridge.LiveSubscription, *recorder) {
	t.Helper()
	r := newRecorder()
	s, err := b.Listen(testenv.Context(t), o, r)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, r
}

// seqsUntil reads r's deliveries until one has stream sequence last.
func seqsUntil(t *testing.T, r *recorder, last uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	for {
		d := next(t, r)
		seqs = append(seqs, d.StreamSeq)
		if d.StreamSeq >= last {
			return seqs
		}
	}
}

func consecutive(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestLiveCore: a subject no stream captures is served by core NATS:
// messages without sequence, one feed for every local subscriber.
func TestLiveCore(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b := env.Bridge
	s1, r1 := listen(t, b, bridge.LiveOptions{Subject: "news.*"})
	_, r2 := listen(t, b, bridge.LiveOptions{Subject: "news.*"})
	assert.Empty(t, s1.Stream())
	assert.Equal(t, 1, b.Feeds(), "one NATS subscription per subject")
	nc := natsConn(t, env)
	require.NoError(t, nc.Publish("news.eu", []byte("hello")))
	require.NoError(t, nc.Publish("other", []byte("no")))
	for _, r := range []*recorder{r1, r2} {
		d := next(t, r)
		assert.Equal(t, "news.eu", d.Subject)
		assert.Equal(t, "hello", string(d.Data))
		assert.Zero(t, d.StreamSeq)
	}
	s1.Close()
	assert.Equal(t, 1, b.Feeds())
}

// TestLiveStream: a subject a stream captures comes with stream
// sequences, from the ordered consumer's feed.
func TestLiveStream(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	stream(t, b, "P", "prices.>")
	publish(t, b, "prices.a", 3)
	s, r := listen(t, b, bridge.LiveOptions{Subject: "prices.*"})
	assert.Equal(t, "P", s.Stream())
	publish(t, b, "prices.b", 1)
	d := next(t, r)
	assert.Equal(t, uint64(4), d.StreamSeq, "only what is published after")
	assert.Equal(t, "prices.b", d.Subject)
	assert.Equal(t, "P", d.Stream)
	assert.Empty(t, d.Consumer)
}

// TestLiveRecovery: replay from a position, then live, under concurrent
// publishing: every sequence once, in order.
func TestLiveRecovery(t *testing.T) {
	tests := []struct {
		name      string
		o         bridge.LiveOptions
		maxMsgs   int64
		first     uint64 // first sequence expected
		recovered bool
		// after: publishing goes on only once subscribed (the expected
		// first sequence depends on the stream's state at that moment)
		after bool
	}{
		{"from sequence", bridge.LiveOptions{FromSeq: 40}, 0, 40, true, false},
		{"from the start", bridge.LiveOptions{FromSeq: 1}, 0, 1, true, false},
		{"since a time", bridge.LiveOptions{Since: time.Now().Add(-time.Hour)}, 0, 1, true, false},
		{"last messages", bridge.LiveOptions{Last: 5}, 0, 96, true, true},
		{"more than there are", bridge.LiveOptions{Last: 500}, 0, 1, true, true},
		{"discarded", bridge.LiveOptions{FromSeq: 10}, 50, 51, false, true},
		{"from the future", bridge.LiveOptions{FromSeq: 1000}, 0, 101, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b, ctx := env.Bridge, testenv.Context(t)
			cfg := bridge.StreamConfig{Name: "P", Subjects: []string{"p.>"}}
			cfg.Limits.MaxMsgs = tc.maxMsgs
			_, err := b.CreateStream(ctx, cfg)
			require.NoError(t, err)
			publish(t, b, "p.x", 100)

			var wg sync.WaitGroup
			more := func() { // publishing goes on across the switch to live
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						_, err := b.Publish(ctx, bridge.Message{Subject: "p.y", Data: fmt.Appendf(nil, "live%d", i)})
						assert.NoError(t, err)
					}
				}()
			}
			if !tc.after {
				more()
			}
			o := tc.o
			o.Subject = "p.>"
			s, r := listen(t, b, o)
			if tc.after {
				more()
			}
			assert.Equal(t, tc.recovered, s.Recovered())
			wg.Wait()
			seqs := seqsUntil(t, r, 300)
			if tc.maxMsgs > 0 {
				// Publishing discards the oldest while the replay runs,
				// and may discard live ones before the feed reads them:
				// the subscriber sees the gap in the sequences. What the
				// stream still holds arrives, in order, once each.
				require.GreaterOrEqual(t, seqs[0], tc.first)
				assert.True(t, slices.IsSorted(seqs) && len(slices.Compact(slices.Clone(seqs))) == len(seqs),
					"in order, once each: %v", seqs)
				kept := consecutive(300-uint64(tc.maxMsgs)+1, 300)
				assert.Equal(t, kept, seqs[len(seqs)-len(kept):])
			} else {
				assert.Equal(t, consecutive(tc.first, 300), seqs)
			}
			nothing(t, r, 100*time.Millisecond)
		})
	}
}

// TestLiveRefusals: bad subjects, reserved ones, several positions.
func TestLiveRefusals(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	tests := []struct {
		o    bridge.LiveOptions
		want error
	}{
		{bridge.LiveOptions{Subject: "a..b"}, bridge.ErrInvalidSubject},
		{bridge.LiveOptions{Subject: "$JS.API.>"}, bridge.ErrReservedSubject},
		{bridge.LiveOptions{Subject: "_INBOX.*"}, bridge.ErrReservedSubject},
		{bridge.LiveOptions{Subject: "a", FromSeq: 1, Last: 2}, bridge.ErrInvalidConfig},
	}
	for _, tc := range tests {
		_, err := b.Listen(ctx, tc.o, newRecorder())
		require.ErrorIs(t, err, tc.want, tc.o.Subject)
	}
	assert.Zero(t, b.Feeds())
}

// TestLiveEnds: closing the bridge ends live subscriptions.
func TestLiveEnds(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	_, r := listen(t, b, bridge.LiveOptions{Subject: "x"})
	b.Close()
	require.ErrorIs(t, ended(t, r), bridge.ErrClosed)
	assert.Zero(t, b.Feeds())
}

func natsConn(t *testing.T, env *testenv.Env) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(env.Server.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}
