package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httpmq/httpmq/bridge/natsbench"
	httpmq "github.com/httpmq/httpmq/clients/go"
)

// live measures live subject subscriptions (no consumer, no acks): k
// sessions listening to one subject a stream captures, over HTTP/2
// (extended CONNECT) and over HTTP/1.1, each session on a connection of
// its own, against k core NATS subscribers each on a connection of its
// own, in the same run.
// Throughput is deliveries per second over all subscribers; latency is
// publish (to JetStream) to delivery at LiveRate msg/s.
func (r *runner) live(ctx context.Context, storage string) ([]Result, error) {
	k, count := r.o.LiveSubscribers, max(r.o.Count/100, 50)
	_, subject, err := r.stream(ctx, storage)
	if err != nil {
		return nil, err
	}
	cpu := r.serverCPU(ctx)
	nr, err := natsbench.CoreFanOut(ctx, r.t.NATSURL, subject, r.payload, k, count)
	if err != nil {
		return nil, err
	}
	res := r.base("live", "native", storage)
	res.Count, res.Concurrency, res.Rate, res.Seconds = nr.Messages, k, nr.Rate(), nr.Elapsed.Seconds()
	cpu(&res)
	// The native latency run comes before the sessions listen: the
	// messages it publishes are not theirs to read.
	n := int(r.o.LatencyDuration.Seconds() * float64(r.o.LiveRate))
	cpu = r.serverCPU(ctx)
	lat, err := natsbench.CoreLatency(ctx, r.t.NATSURL, subject, r.o.Size, k, r.o.LiveRate, r.o.LatencyDuration)
	if err != nil {
		return nil, err
	}
	nlat := r.base("live-latency", "native", storage)
	nlat.OfferedRate, nlat.Concurrency = r.o.LiveRate, k
	nlat = latencyResult(nlat, lat)
	cpu(&nlat)
	out := []Result{res}
	var sessionLat []Result
	for _, v := range sessionVariants {
		if !r.wants(v.name) {
			continue
		}
		tput, lat, err := r.liveSessions(ctx, storage, subject, v, count, n)
		if err != nil {
			return nil, err
		}
		out = append(out, tput)
		sessionLat = append(sessionLat, lat)
	}
	return append(append(out, nlat), sessionLat...), nil
}

// liveSessions measures k sessions over transport tr listening to
// subject: their throughput on count messages, then their latency on n
// messages at LiveRate msg/s.
func (r *runner) liveSessions(ctx context.Context, storage, subject string, v sessionVariant, count, n int) (Result, Result, error) {
	k := r.o.LiveSubscribers
	subs, closeAll, err := r.listeners(ctx, subject, k, v.enc, v.tr)
	if err != nil {
		return Result{}, Result{}, err
	}
	defer closeAll()
	var errs atomic.Int64
	read := func(n int, each func(m *httpmq.Message)) *sync.WaitGroup {
		var wg sync.WaitGroup
		for _, sub := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n {
					m, err := sub.Next(ctx)
					if err != nil {
						errs.Add(1)
						return
					}
					each(m)
				}
			}()
		}
		return &wg
	}
	cpu := r.serverCPU(ctx)
	start := time.Now()
	wg := read(count, func(*httpmq.Message) {})
	if _, err := natsbench.Publish(ctx, r.t.NATSURL, subject, r.payload, count, r.o.Window); err != nil {
		return Result{}, Result{}, err
	}
	wg.Wait()
	elapsed := time.Since(start)
	tput := r.base("live", v.name, storage)
	tput.Count, tput.Concurrency, tput.Errors, tput.Seconds = k*count, k, int(errs.Load()), elapsed.Seconds()
	tput.Rate = float64(k*count) / elapsed.Seconds()
	cpu(&tput)

	var mu sync.Mutex
	slat := make([]time.Duration, 0, n*k)
	errs.Store(0)
	wg = read(n, func(m *httpmq.Message) {
		if len(m.Data) >= 8 {
			l := time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(m.Data)))
			mu.Lock()
			slat = append(slat, l)
			mu.Unlock()
		}
	})
	cpu = r.serverCPU(ctx)
	if err := natsbench.PublishPaced(ctx, r.t.NATSURL, subject, r.o.Size, r.o.LiveRate, n); err != nil {
		return Result{}, Result{}, err
	}
	wg.Wait()
	lat := r.base("live-latency", v.name, storage)
	lat.OfferedRate, lat.Concurrency, lat.Errors = r.o.LiveRate, k, int(errs.Load())
	lat = latencyResult(lat, slat)
	cpu(&lat) // per delivery, at a moderate rate: what a steady fan-out costs
	return tput, lat, nil
}

// listeners opens k sessions of encoding enc over tr, each listening to
// subject.
func (r *runner) listeners(ctx context.Context, subject string, k int, enc httpmq.Encoding, tr httpmq.Transport) ([]*httpmq.Subscription, func(), error) {
	var sessions []*httpmq.Session
	var subs []*httpmq.Subscription
	closeAll := func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}
	for i := range k {
		s, err := r.session(ctx, enc, tr)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("session %d of %d: %w", i+1, k, err)
		}
		sessions = append(sessions, s)
		sub, err := s.Listen(ctx, subject, nil)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		subs = append(subs, sub)
	}
	return subs, closeAll, nil
}
