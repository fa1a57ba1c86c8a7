package dataplane_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/session"
)

// TestSlowRESTSubscriber: a REST subscriber of a push consumer that
// stops reading while 512 KiB messages are published costs the server a
// bounded number of bytes (its queue bound, plus what one pull request
// may bring), whatever the backlog and the consumer's max ack pending;
// JetStream keeps the rest.
func TestSlowRESTSubscriber(t *testing.T) {
	const queue, size, total = 2 << 20, 512 << 10, 40
	env := testenv.New(t, testenv.Options{RequestTimeout: 10 * time.Second}) // 512 KiB publishes on a loaded machine
	b := env.Bridge
	createStream(t, b, "S", "s.>")
	createConsumer(t, b, "S", bridge.ConsumerConfig{Name: "c", Push: true, MaxAckPending: 1000, AckWait: time.Hour})
	clients := session.New(session.Options{Broker: b, MaxQueuedBytes: queue, SlowConsumerTimeout: time.Hour, Logger: testenv.Logger()})
	t.Cleanup(func() { _ = clients.Shutdown(testenv.Context(t)) })
	s := serveBridge(t, b, "h2c", dataplane.Options{Clients: clients})

	// The test's reader hands lines over one at a time: taking none,
	// it stops reading the body after the first.
	s.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=1000", nil)

	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			st := clients.Stats()
			if q := int64(st.REST.QueuedBytes); q > peak.Load() {
				peak.Store(q)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	payload := make([]byte, size)
	for range total {
		_, err := b.Publish(testenv.Context(t), bridge.Message{Subject: "s.a", Data: payload})
		require.NoError(t, err)
	}
	// The backlog stays in JetStream: the subscriber holds at most what
	// its queue bound and one pull request's bytes let it.
	require.Eventually(t, func() bool {
		ci, err := b.Consumer(testenv.Context(t), "S", "c")
		return err == nil && ci.NumPending > 0
	}, 10*time.Second, 10*time.Millisecond)
	close(stop)
	wg.Wait()
	ci, err := b.Consumer(testenv.Context(t), "S", "c")
	require.NoError(t, err)
	held := total - int(ci.NumPending)
	t.Logf("held by httpmq or the client: %d of %d messages; peak queued %d KiB", held, total, peak.Load()>>10)
	assert.LessOrEqual(t, peak.Load(), int64(queue+size+4096), "the queue went over its bound")
	// Queue, one pull request (half the queue, at least NATS's max payload
	// and some), the transport's windows: nothing like the backlog.
	assert.Less(t, held*size, 16<<20, "the server took the backlog from JetStream")
}
