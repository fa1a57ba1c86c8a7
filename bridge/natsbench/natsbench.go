// Package natsbench measures native nats.go against JetStream: the
// baselines httpmq's benchmarks report their own figures next to. It
// lives under bridge because bridge is the only part of httpmq that
// imports nats.go.
//
// Each function connects its own client to url, runs one scenario and
// returns what it measured; streams and consumers are the caller's.
package natsbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Result of a throughput run.
type Result struct {
	Messages int
	Elapsed  time.Duration
	Errors   int
}

// Rate is messages per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

func connect(url string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name("httpmq-bench-native"))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// Publish publishes count messages of payload to subject with async
// publish, at most window awaiting their JetStream ack, and waits for
// every ack.
func Publish(ctx context.Context, url, subject string, payload []byte, count, window int) (Result, error) {
	nc, _, err := connect(url)
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window))
	if err != nil {
		return Result{}, err
	}
	futures := make([]jetstream.PubAckFuture, 0, count)
	start := time.Now()
	for range count {
		// A server busy delivering (the fan-out scenarios) may take longer
		// than nats.go's default 200ms to free the window.
		f, err := js.PublishAsync(subject, payload, jetstream.WithStallWait(30*time.Second))
		if err != nil {
			return Result{}, err
		}
		futures = append(futures, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	res := Result{Messages: count, Elapsed: time.Since(start)}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case <-f.Err():
			res.Errors++
		}
	}
	return res, nil
}

// Consume reads count messages from a pull consumer, acking each
// (without waiting for confirmation), with up to window pulled ahead.
func Consume(ctx context.Context, url, stream, consumer string, count, window int) (Result, error) {
	nc, js, err := connect(url)
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	c, err := js.Consumer(ctx, stream, consumer)
	if err != nil {
		return Result{}, err
	}
	it, err := c.Messages(jetstream.PullMaxMessages(window))
	if err != nil {
		return Result{}, err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	start := time.Now()
	res := Result{}
	for res.Messages < count {
		m, err := it.Next()
		if err != nil {
			return res, err
		}
		if err := m.Ack(); err != nil {
			res.Errors++
		}
		res.Messages++
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// Latency publishes rate messages per second for d, each carrying its
// send time, while an ordered consumer on the stream receives them; it
// returns the publish-to-delivery latencies.
func Latency(ctx context.Context, url, stream, subject string, size int, rate int, d time.Duration) ([]time.Duration, error) {
	nc, js, err := connect(url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, err
	}
	total := int(d.Seconds() * float64(rate))
	lat := make([]time.Duration, 0, total)
	var mu sync.Mutex
	done := make(chan struct{})
	cc, err := c.Consume(func(m jetstream.Msg) {
		data := m.Data()
		if len(data) < 8 {
			return
		}
		sent := int64(binary.BigEndian.Uint64(data))
		mu.Lock()
		lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
		if len(lat) == total {
			close(done)
		}
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	defer cc.Stop()
	payload := make([]byte, max(size, 8))
	if err := Paced(ctx, rate, total, func() error {
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		_, err := js.Publish(ctx, subject, payload)
		return err
	}); err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(10 * time.Second):
		return nil, errors.New("natsbench: not every message arrived within 10s")
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]time.Duration(nil), lat...), nil
}

// FanOut has k ordered consumers read every message on subject, starting
// with the next one published, while count messages are published; it
// reports deliveries in total.
func FanOut(ctx context.Context, url, stream, subject string, payload []byte, k, count int) (Result, error) {
	nc, js, err := connect(url)
	if err != nil {
		return Result{}, err
	}
	defer nc.Close()
	var wg sync.WaitGroup
	wg.Add(k)
	var stops []jetstream.ConsumeContext
	defer func() {
		for _, s := range stops {
			s.Stop()
		}
	}()
	for range k {
		c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy})
		if err != nil {
			return Result{}, err
		}
		got := 0
		cc, err := c.Consume(func(jetstream.Msg) {
			got++
			if got == count {
				wg.Done()
			}
		})
		if err != nil {
			return Result{}, err
		}
		stops = append(stops, cc)
	}
	start := time.Now()
	if _, err := Publish(ctx, url, subject, payload, count, 256); err != nil {
		return Result{}, err
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(60 * time.Second):
		return Result{}, fmt.Errorf("natsbench: fan-out to %d consumers did not complete", k)
	}
	return Result{Messages: k * count, Elapsed: time.Since(start)}, nil
}

// Paced calls fn n times at rate per second (a schedule, not a sleep
// after each call, so slow calls do not lower the offered rate).
func Paced(ctx context.Context, rate, n int, fn func() error) error {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}
