package session_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSlowReader: one client stops reading while 100,000 messages are
// published. The server's memory stays bounded (the slow session holds at
// most its in-flight limit and its outbound queue) and another session
// keeps receiving throughout. The embedded JetStream server shares this
// process's heap and caches the stream, so the slow session's cost is
// measured against the same run without it.
func TestSlowReader(t *testing.T) {
	const queue, inflight = 1 << 20, 500
	var base, slow uint64
	t.Run("baseline", func(t *testing.T) { base, _ = slowReader(t, false, queue, inflight) })
	t.Run("slow reader", func(t *testing.T) {
		var peak session.Stats
		slow, peak = slowReader(t, true, queue, inflight)
		assert.LessOrEqual(t, peak.MaxQueuedBytes, queue)
		assert.LessOrEqual(t, peak.InFlight, inflight+1)
	})
	t.Logf("heap growth: %d KB without the slow reader, %d KB with it", base>>10, slow>>10)
	// Had the slow session buffered the backlog, it would hold 100,000
	// frames of 128 B payload (≥ 20 MB with framing and bookkeeping).
	assert.Less(t, int64(slow)-int64(base), int64(8<<20), "the slow session's memory grew with the backlog")
}

func slowReader(t *testing.T, withSlow bool, queue, inflight int) (uint64, session.Stats) {
	const total, every = 100_000, 1_000
	env := testenv.New(t, testenv.Options{})
	// Memory storage keeps the whole stream in the heap in both runs,
	// where file storage's cache would add noise.
	_, err := env.Bridge.CreateStream(testenv.Context(t), bridge.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: "memory"})
	require.NoError(t, err)
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "slow", AckWait: time.Hour})
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "live", AckWait: time.Hour, FilterSubjects: []string{"s.live"}})
	// A client that never reads never answers pings either: no keep-alive
	// verdict may end it while a loaded machine runs the test.
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge, MaxQueuedBytes: queue, SlowConsumerTimeout: time.Hour, PingInterval: time.Hour})

	if withSlow {
		slow := dial(t, srv, protocol.SubprotocolMsgpack)
		slow.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "s", Stream: "S", Consumer: "slow", MaxInflight: inflight})
		// and never reads again
	}
	live := dial(t, srv, protocol.SubprotocolMsgpack)
	live.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "l", Stream: "S", Consumer: "live", MaxInflight: 1})
	before := heap()

	var wg sync.WaitGroup
	payload := make([]byte, 128)
	const publishers = 8
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < total; i += publishers {
				subject := "s.bulk"
				if i%every == 0 {
					subject = "s.live"
				}
				if _, err := env.Bridge.Publish(testenv.Context(t), bridge.Message{Subject: subject, Data: payload}); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}()
	}
	var peak session.Stats
	for got := 0; got < total/every; got++ {
		m := live.next()
		live.send(&protocol.Frame{Type: protocol.TypeAck, Stream: "S", Consumer: "live", StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq})
		st := srv.Stats()
		peak.MaxQueuedBytes = max(peak.MaxQueuedBytes, st.MaxQueuedBytes)
		peak.InFlight = max(peak.InFlight, st.InFlight)
	}
	wg.Wait()
	growth := heap() - before
	if withSlow {
		assert.Equal(t, 2, srv.Sessions(), "the slow session is still open, just not fed")
		testenv.Eventually(t, "the slow session holds exactly its in-flight limit", func() bool {
			return srv.Stats().InFlight == inflight
		})
	}
	return growth, peak
}
