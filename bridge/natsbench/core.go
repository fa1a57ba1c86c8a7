package natsbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// coreSubscribers connects k clients to url, each subscribed to subject
// with handle, and returns them for closing.
func coreSubscribers(url, subject string, k int, handle func(i int, m *nats.Msg)) ([]*nats.Conn, error) {
	conns := make([]*nats.Conn, 0, k)
	for i := range k {
		nc, err := nats.Connect(url, nats.Name("httpmq-bench-native-sub"))
		if err == nil {
			_, err = nc.Subscribe(subject, func(m *nats.Msg) { handle(i, m) })
		}
		if err == nil {
			err = nc.Flush()
		}
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, nc)
	}
	return conns, nil
}

func closeAll(conns []*nats.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// CoreFanOut measures k core NATS subscribers of subject, each on a
// connection of its own (as k browsers would be), while count messages
// of payload are published to JetStream: deliveries per second in
// total.
func CoreFanOut(ctx context.Context, url, subject string, payload []byte, k, count int) (Result, error) {
	var wg sync.WaitGroup
	wg.Add(k)
	got := make([]int, k)
	conns, err := coreSubscribers(url, subject, k, func(i int, _ *nats.Msg) {
		got[i]++ // one handler goroutine per connection
		if got[i] == count {
			wg.Done()
		}
	})
	if err != nil {
		return Result{}, err
	}
	defer closeAll(conns)
	start := time.Now()
	if _, err := Publish(ctx, url, subject, payload, count, 256); err != nil {
		return Result{}, err
	}
	if err := waitGroup(ctx, &wg, fmt.Sprintf("fan-out to %d core subscribers", k)); err != nil {
		return Result{}, err
	}
	return Result{Messages: k * count, Elapsed: time.Since(start)}, nil
}

// CoreLatency measures publish (to JetStream) to delivery at k core
// subscribers of subject, at rate messages per second for d: one latency
// per delivery.
func CoreLatency(ctx context.Context, url, subject string, size, k, rate int, d time.Duration) ([]time.Duration, error) {
	n := int(d.Seconds() * float64(rate))
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n*k)
	var wg sync.WaitGroup
	wg.Add(k)
	got := make([]int, k)
	conns, err := coreSubscribers(url, subject, k, func(i int, m *nats.Msg) {
		if len(m.Data) >= 8 {
			l := time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(m.Data)))
			mu.Lock()
			lat = append(lat, l)
			mu.Unlock()
		}
		got[i]++
		if got[i] == n {
			wg.Done()
		}
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	if err := PublishPaced(ctx, url, subject, size, rate, n); err != nil {
		return nil, err
	}
	if err := waitGroup(ctx, &wg, fmt.Sprintf("latency to %d core subscribers", k)); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return lat, nil
}

// PublishPaced publishes n messages of size bytes to subject through
// JetStream at rate per second, each starting with its publish time
// (Unix nanoseconds, big-endian), and waits for every ack.
func PublishPaced(ctx context.Context, url, subject string, size, rate, n int) error {
	nc, js, err := connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	payload := make([]byte, max(size, 8))
	return Paced(ctx, rate, n, func() error {
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		_, err := js.Publish(ctx, subject, payload)
		return err
	})
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup, what string) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(60 * time.Second):
		return fmt.Errorf("natsbench: %s did not complete", what)
	}
}
