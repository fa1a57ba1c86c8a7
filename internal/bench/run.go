package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httpmq/httpmq/bridge/natsbench"
	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/clients/go/h2ws"
)

// Options choose what [Run] measures. Zero values take the defaults given.
type Options struct {
	// Scenarios to run; default all of [Scenarios].
	Scenarios []string
	// Storages: "file" and/or "memory"; default both.
	Storages []string
	// Size of each payload in bytes; default 128.
	Size int
	// Count of messages per throughput measurement; default 20,000.
	Count int
	// Window is how many publishes (or deliveries) may await their ack;
	// default 256.
	Window int
	// RESTConcurrency is how many REST requests run at once; default 32.
	RESTConcurrency int
	// LatencyRate is the offered rate of the latency scenario, msg/s;
	// default 1,000, for LatencyDuration (default 5s).
	LatencyRate     int
	LatencyDuration time.Duration
	// Sessions is how many idle sessions the memory scenario opens;
	// default 10,000.
	Sessions int
	// FanOut is how many sessions read every message in the fan-out
	// scenario; default 16.
	FanOut int
	// LiveSubscribers is how many sessions listen to one subject in the
	// live scenario, default 1,000; LiveRate its latency run's offered
	// rate, default 100 msg/s (for LatencyDuration).
	LiveSubscribers, LiveRate int
	// Variants, if set, limits the publish, consume, memory and live scenarios to these
	// variants ("session-msgpack", "rest-h2c", ...); native always runs,
	// for the ratios.
	Variants []string
	// Rounds is how many times every scenario runs, one round after the
	// other (default 1): this machine's figures move from one run to the
	// next, and [Summarize] gives the medians.
	Rounds int
	// Progress, if set, is told what runs.
	Progress func(string)
	// ServerHeapProfile, if set, receives the server's heap profile taken
	// while the memory scenario's HTTP/1.1 sessions are open.
	ServerHeapProfile io.Writer
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Size, 128)
	def(&o.Count, 20_000)
	def(&o.Window, 256)
	def(&o.RESTConcurrency, 32)
	def(&o.LatencyRate, 1000)
	def(&o.Sessions, 10_000)
	def(&o.FanOut, 16)
	def(&o.LiveSubscribers, 1000)
	def(&o.LiveRate, 100)
	def(&o.Rounds, 1)
	if o.LatencyDuration <= 0 {
		o.LatencyDuration = 5 * time.Second
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
	if len(o.Storages) == 0 {
		o.Storages = []string{"file", "memory"}
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o
}

// Target is a running httpmq (with the JetStream server it uses) to
// measure.
type Target struct {
	// NATSURL reaches the JetStream server for native clients.
	NATSURL string
	// HTTPURL is httpmq's base URL, serving /v1/admin, /v1/data and
	// /v1/session, and /bench/memstats for the memory scenario (and
	// /bench/cpu for the server's CPU per message).
	HTTPURL string
	// SharedProcess: the server runs in the benchmark's process, so its
	// CPU time includes the clients' and is not reported.
	SharedProcess bool
}

// runner holds what the scenarios share.
type runner struct {
	o       Options
	t       Target
	admin   *httpmq.AdminClient
	h2c     *http.Client
	http1   *http.Client
	payload []byte
	seq     atomic.Int64
}

// Run measures the scenarios against t and returns their results.
func Run(ctx context.Context, t Target, o Options) ([]Result, error) {
	o = o.withDefaults()
	h2 := h2ws.NewTransport(nil, true)
	defer h2.CloseIdleConnections()
	h1 := &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}
	defer h1.CloseIdleConnections()
	r := &runner{
		o: o, t: t,
		h2c:     &http.Client{Transport: h2},
		http1:   &http.Client{Transport: h1},
		payload: make([]byte, o.Size),
	}
	_, _ = rand.Read(r.payload)
	r.admin = httpmq.NewAdminClient(t.HTTPURL, &httpmq.ClientOptions{HTTPClient: r.http1})
	var out []Result
	for round := 1; round <= o.Rounds; round++ {
		for _, sc := range o.Scenarios {
			for _, storage := range o.Storages {
				if sc == "memory" && storage != o.Storages[0] {
					continue // sessions do not depend on storage
				}
				what := sc + " / " + storage
				if o.Rounds > 1 {
					what += fmt.Sprintf(" (round %d of %d)", round, o.Rounds)
				}
				o.Progress(what)
				rs, err := r.scenario(ctx, sc, storage)
				if err != nil {
					return withRatios(out), fmt.Errorf("%s (%s): %w", sc, storage, err)
				}
				if o.Rounds > 1 {
					for i := range rs {
						rs[i].Round = round
					}
				}
				out = append(out, rs...)
			}
		}
	}
	return withRatios(out), nil
}

func (r *runner) scenario(ctx context.Context, name, storage string) ([]Result, error) {
	switch name {
	case "publish":
		return r.publish(ctx, storage)
	case "consume":
		return r.consume(ctx, storage)
	case "latency":
		return r.latency(ctx, storage)
	case "memory":
		return r.memory(ctx)
	case "fanout":
		return r.fanout(ctx, storage)
	case "live":
		return r.live(ctx, storage)
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// stream creates a fresh stream capturing one subject and returns both.
func (r *runner) stream(ctx context.Context, storage string) (string, string, error) {
	name := fmt.Sprintf("bench%d", r.seq.Add(1))
	subject := name + ".s"
	_, err := r.admin.CreateStream(ctx, httpmq.NewStream{Name: name, Subjects: []string{name + ".>"}, Storage: storage})
	return name, subject, err
}

func (r *runner) consumer(ctx context.Context, stream, mode, policy string) (string, error) {
	name := fmt.Sprintf("c%d", r.seq.Add(1))
	_, err := r.admin.CreateConsumer(ctx, stream, httpmq.NewConsumer{Name: name, Mode: mode,
		MaxInflight: httpmq.Ptr(100_000), DeliverPolicy: policy})
	return name, err
}

// wants reports whether variant is to run.
func (r *runner) wants(variant string) bool {
	return len(r.o.Variants) == 0 || slices.Contains(r.o.Variants, variant)
}

func (r *runner) base(scenario, variant, storage string) Result {
	return Result{Scenario: scenario, Variant: variant, Storage: storage, Size: r.o.Size, Count: r.o.Count}
}

func (r *runner) session(ctx context.Context, enc httpmq.Encoding, tr httpmq.Transport) (*httpmq.Session, error) {
	return httpmq.Dial(ctx, strings.Replace(r.t.HTTPURL, "http", "ws", 1)+"/v1/session",
		&httpmq.SessionOptions{Encoding: enc, Transport: tr, NoReconnect: true})
}

// parallel runs n workers over count items; work gets the item index.
func parallel(ctx context.Context, n, count int, work func(ctx context.Context, i int) error) (time.Duration, int) {
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count || ctx.Err() != nil {
					return
				}
				if err := work(ctx, i); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), int(errs.Load())
}

// sessionVariants are the session variants of publish, consume and
// live: both encodings over HTTP/2 (extended CONNECT, h2c) and over an
// HTTP/1.1 upgrade, where Go's HTTP/2 server is not in the way. JSON is
// what browsers speak (the TypeScript SDK's default).
var sessionVariants = []sessionVariant{
	{"session-json", httpmq.EncodingJSON, httpmq.TransportHTTP2},
	{"session-msgpack", httpmq.EncodingMsgpack, httpmq.TransportHTTP2},
	{"session-msgpack-http1", httpmq.EncodingMsgpack, httpmq.TransportHTTP1},
	{"session-json-http1", httpmq.EncodingJSON, httpmq.TransportHTTP1},
}

type sessionVariant struct {
	name string
	enc  httpmq.Encoding
	tr   httpmq.Transport
}

// msgpackVariants are the msgpack ones: over HTTP/2 and over HTTP/1.1.
var msgpackVariants = sessionVariants[1:3]

func (r *runner) publish(ctx context.Context, storage string) ([]Result, error) {
	var out []Result
	// native
	_, subject, err := r.stream(ctx, storage)
	if err != nil {
		return nil, err
	}
	cpu := r.serverCPU(ctx)
	nr, err := natsbench.Publish(ctx, r.t.NATSURL, subject, r.payload, r.o.Count, r.o.Window)
	if err != nil {
		return nil, err
	}
	res := r.base("publish", "native", storage)
	res.Concurrency, res.Rate, res.Errors, res.Seconds = r.o.Window, nr.Rate(), nr.Errors, nr.Elapsed.Seconds()
	cpu(&res)
	out = append(out, res)
	// sessions, pipelined: Window publishes in flight on one session
	for _, v := range sessionVariants {
		if !r.wants(v.name) {
			continue
		}
		_, subject, err := r.stream(ctx, storage)
		if err != nil {
			return nil, err
		}
		s, err := r.session(ctx, v.enc, v.tr)
		if err != nil {
			return nil, err
		}
		cpu := r.serverCPU(ctx)
		elapsed, errs := parallel(ctx, r.o.Window, r.o.Count, func(ctx context.Context, _ int) error {
			_, err := s.Publish(ctx, subject, r.payload, nil)
			return err
		})
		res := r.base("publish", v.name, storage)
		res.Concurrency, res.Errors, res.Seconds = r.o.Window, errs, elapsed.Seconds()
		res.Rate = float64(r.o.Count-errs) / elapsed.Seconds()
		cpu(&res)
		_ = s.Close()
		out = append(out, res)
	}
	// REST: N concurrent h2c streams, and N HTTP/1.1 keep-alive connections;
	// and the same requests to a handler that does nothing
	// (/bench/floor), what Go's HTTP server and client cost by themselves.
	for _, v := range []struct {
		name  string
		hc    *http.Client
		floor bool
	}{{"rest-h2c", r.h2c, false}, {"rest-http1", r.http1, false}, {"floor-h2c", r.h2c, true}, {"floor-http1", r.http1, true}} {
		if !r.wants(v.name) {
			continue
		}
		work := func(ctx context.Context, _ int) error { return r.floor(ctx, v.hc) }
		if !v.floor {
			_, subject, err := r.stream(ctx, storage)
			if err != nil {
				return nil, err
			}
			dc := httpmq.NewDataClient(r.t.HTTPURL, &httpmq.ClientOptions{HTTPClient: v.hc})
			work = func(ctx context.Context, _ int) error {
				_, err := dc.Publish(ctx, subject, r.payload, nil)
				return err
			}
		}
		count := r.o.Count / 2 // REST is slower; keep runs short
		cpu := r.serverCPU(ctx)
		elapsed, errs := parallel(ctx, r.o.RESTConcurrency, count, work)
		res := r.base("publish", v.name, storage)
		res.Count, res.Concurrency, res.Errors, res.Seconds = count, r.o.RESTConcurrency, errs, elapsed.Seconds()
		res.Rate = float64(count-errs) / elapsed.Seconds()
		cpu(&res)
		out = append(out, res)
	}
	// REST batches (POST /v1/data/publish) over h2c: Window messages in
	// flight, in batchRequests concurrent requests.
	if !r.wants("rest-batch-h2c") {
		return out, nil
	}
	res, err = r.publishBatches(ctx, storage)
	if err != nil {
		return nil, err
	}
	return append(out, res), nil
}

// floor posts the payload to /bench/floor, whose handler reads it and
// answers the size of a publish's answer without doing anything else.
func (r *runner) floor(ctx context.Context, hc *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.t.HTTPURL+"/bench/floor", bytes.NewReader(r.payload))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("floor: %s", resp.Status)
	}
	return nil
}

// batchRequests is how many batch publish requests run at once; each
// carries Window/batchRequests messages.
const batchRequests = 4

// publishBatches measures POST /v1/data/publish over h2c.
func (r *runner) publishBatches(ctx context.Context, storage string) (Result, error) {
	_, subject, err := r.stream(ctx, storage)
	if err != nil {
		return Result{}, err
	}
	per := max(1, r.o.Window/batchRequests)
	type message struct {
		Subject string `json:"subject"`
		Data    []byte `json:"data"` // base64, as the endpoint wants
	}
	msgs := make([]message, per)
	for i := range msgs {
		msgs[i] = message{Subject: subject, Data: r.payload}
	}
	body, err := json.Marshal(msgs)
	if err != nil {
		return Result{}, err
	}
	batches := (r.o.Count + per - 1) / per
	var failed atomic.Int64
	cpu := r.serverCPU(ctx)
	elapsed, errs := parallel(ctx, batchRequests, batches, func(ctx context.Context, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.t.HTTPURL+"/v1/data/publish", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.h2c.Do(req)
		if err != nil {
			failed.Add(int64(per))
			return err
		}
		defer resp.Body.Close()
		var answer struct {
			Failed int `json:"failed"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
			failed.Add(int64(per))
			return fmt.Errorf("batch publish: %d, %v", resp.StatusCode, err)
		}
		failed.Add(int64(answer.Failed))
		return nil
	})
	_ = errs // counted per message in failed
	count := batches * per
	res := r.base("publish", "rest-batch-h2c", storage)
	res.Count, res.Concurrency, res.Errors, res.Seconds = count, batchRequests, int(failed.Load()), elapsed.Seconds()
	res.Rate = float64(count-int(failed.Load())) / elapsed.Seconds()
	cpu(&res)
	return res, nil
}

// filled creates a stream holding Count messages.
func (r *runner) filled(ctx context.Context, storage string, count int) (string, error) {
	stream, subject, err := r.stream(ctx, storage)
	if err != nil {
		return "", err
	}
	if _, err := natsbench.Publish(ctx, r.t.NATSURL, subject, r.payload, count, r.o.Window); err != nil {
		return "", err
	}
	return stream, nil
}

func (r *runner) consume(ctx context.Context, storage string) ([]Result, error) {
	var out []Result
	stream, err := r.filled(ctx, storage, r.o.Count)
	if err != nil {
		return nil, err
	}
	// native pull consumer, acking each message
	c, err := r.consumer(ctx, stream, "pull", "")
	if err != nil {
		return nil, err
	}
	cpu := r.serverCPU(ctx)
	nr, err := natsbench.Consume(ctx, r.t.NATSURL, stream, c, r.o.Count, r.o.Window)
	if err != nil {
		return nil, err
	}
	res := r.base("consume", "native", storage)
	res.Concurrency, res.Rate, res.Errors, res.Seconds = r.o.Window, nr.Rate(), nr.Errors, nr.Elapsed.Seconds()
	cpu(&res)
	out = append(out, res)
	// sessions: one subscription, Window in flight, an ack per message
	for _, v := range sessionVariants {
		if !r.wants(v.name) {
			continue
		}
		c, err := r.consumer(ctx, stream, "pull", "")
		if err != nil {
			return nil, err
		}
		s, err := r.session(ctx, v.enc, v.tr)
		if err != nil {
			return nil, err
		}
		sub, err := s.Subscribe(ctx, stream, c, &httpmq.SubscribeOptions{MaxInflight: r.o.Window})
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		cpu := r.serverCPU(ctx)
		start := time.Now()
		errs := 0
		for got := 0; got < r.o.Count; got++ {
			m, err := sub.Next(ctx)
			if err != nil {
				_ = s.Close()
				return nil, err
			}
			if err := m.AckNoWait(); err != nil {
				errs++
			}
		}
		elapsed := time.Since(start)
		_ = s.Close()
		res := r.base("consume", v.name, storage)
		res.Concurrency, res.Errors, res.Seconds = r.o.Window, errs, elapsed.Seconds()
		res.Rate = float64(r.o.Count) / elapsed.Seconds()
		cpu(&res)
		out = append(out, res)
	}
	// REST push-subscribe (h2c), each message acked by a REST call
	if r.wants("rest-h2c") {
		c, err := r.consumer(ctx, stream, "pull", "")
		if err != nil {
			return nil, err
		}
		dc := httpmq.NewDataClient(r.t.HTTPURL, &httpmq.ClientOptions{HTTPClient: r.h2c})
		count := r.o.Count / 2
		sctx, cancel := context.WithCancel(ctx)
		sub, err := dc.Subscribe(sctx, stream, c, &httpmq.SubscribeOptions{MaxInflight: r.o.RESTConcurrency})
		if err != nil {
			cancel()
			return nil, err
		}
		acks := make(chan *httpmq.Message, r.o.RESTConcurrency)
		var errs atomic.Int64
		var wg sync.WaitGroup
		for range r.o.RESTConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range acks {
					if err := m.Ack(ctx); err != nil {
						errs.Add(1)
					}
				}
			}()
		}
		cpu := r.serverCPU(ctx)
		start := time.Now()
		var ferr error
		for got := 0; got < count; got++ {
			m, err := sub.Next(ctx)
			if err != nil {
				ferr = err
				break
			}
			acks <- m
		}
		close(acks)
		wg.Wait()
		elapsed := time.Since(start)
		cancel()
		_ = sub.Close()
		if ferr != nil {
			return nil, ferr
		}
		res := r.base("consume", "rest-h2c", storage)
		res.Count, res.Concurrency, res.Errors, res.Seconds = count, r.o.RESTConcurrency, int(errs.Load()), elapsed.Seconds()
		res.Rate = float64(count) / elapsed.Seconds()
		cpu(&res)
		out = append(out, res)
	}
	return out, nil
}

func (r *runner) latency(ctx context.Context, storage string) ([]Result, error) {
	stream, subject, err := r.stream(ctx, storage)
	if err != nil {
		return nil, err
	}
	lat, err := natsbench.Latency(ctx, r.t.NATSURL, stream, subject, r.o.Size, r.o.LatencyRate, r.o.LatencyDuration)
	if err != nil {
		return nil, err
	}
	res := r.base("latency", "native", storage)
	res.OfferedRate = r.o.LatencyRate
	out := []Result{latencyResult(res, lat)}

	// sessions: publish on one session, receive on another
	for _, v := range msgpackVariants {
		if !r.wants(v.name) {
			continue
		}
		res, err := r.sessionLatency(ctx, storage, stream, subject, v.tr)
		if err != nil {
			return nil, err
		}
		res.Variant = v.name
		out = append(out, res)
	}
	return out, nil
}

// sessionLatency measures publish to delivery between two msgpack
// sessions over tr, at LatencyRate msg/s.
func (r *runner) sessionLatency(ctx context.Context, storage, stream, subject string, tr httpmq.Transport) (Result, error) {
	total := int(r.o.LatencyDuration.Seconds() * float64(r.o.LatencyRate))
	c, err := r.consumer(ctx, stream, "pull", "new")
	if err != nil {
		return Result{}, err
	}
	pub, err := r.session(ctx, httpmq.EncodingMsgpack, tr)
	if err != nil {
		return Result{}, err
	}
	defer pub.Close()
	recv, err := r.session(ctx, httpmq.EncodingMsgpack, tr)
	if err != nil {
		return Result{}, err
	}
	defer recv.Close()
	sub, err := recv.Subscribe(ctx, stream, c, &httpmq.SubscribeOptions{MaxInflight: r.o.Window})
	if err != nil {
		return Result{}, err
	}
	defer sub.Close()
	got := make(chan []time.Duration, 1)
	go func() {
		l := make([]time.Duration, 0, total)
		for len(l) < total {
			m, err := sub.Next(ctx)
			if err != nil {
				break
			}
			if len(m.Data) >= 8 {
				l = append(l, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(m.Data))))
			}
			_ = m.AckNoWait()
		}
		got <- l
	}()
	payload := make([]byte, max(r.o.Size, 8))
	errs := 0
	err = natsbench.Paced(ctx, r.o.LatencyRate, total, func() error {
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		if _, err := pub.Publish(ctx, subject, payload, nil); err != nil {
			errs++
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	var l []time.Duration
	select {
	case l = <-got:
	case <-time.After(10 * time.Second):
		return Result{}, fmt.Errorf("session latency: not every message arrived")
	}
	res := r.base("latency", "", storage)
	res.OfferedRate, res.Errors = r.o.LatencyRate, errs
	return latencyResult(res, l), nil
}

// fetch copies what path answers to w.
func (r *runner) fetch(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", r.t.HTTPURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.http1.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// serverCPU starts measuring the server's CPU time; the returned func
// sets res.ServerMicros to the time used since, per message of
// res.Count. Nothing is set when the server shares this process or does
// not report its CPU.
func (r *runner) serverCPU(ctx context.Context) func(res *Result) {
	read := func() (time.Duration, bool) {
		if r.t.SharedProcess {
			return 0, false
		}
		var b bytes.Buffer
		var ns int64
		if err := r.fetch(ctx, "/bench/cpu", &b); err != nil || json.Unmarshal(b.Bytes(), &ns) != nil {
			return 0, false
		}
		return time.Duration(ns), true
	}
	start, ok := read()
	return func(res *Result) {
		end, ok2 := read()
		if ok && ok2 && res.Count > 0 {
			res.ServerMicros = float64((end - start).Microseconds()) / float64(res.Count)
		}
	}
}

func (r *runner) memstats(ctx context.Context) (MemStats, error) {
	var m MemStats
	req, err := http.NewRequestWithContext(ctx, "GET", r.t.HTTPURL+"/bench/memstats", nil)
	if err != nil {
		return m, err
	}
	resp, err := r.http1.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// memory opens Sessions idle sessions over HTTP/1.1, then over HTTP/2,
// each holding one subscription to a shared push consumer, and divides
// the server's memory growth by their number.
func (r *runner) memory(ctx context.Context) ([]Result, error) {
	stream, _, err := r.stream(ctx, "memory")
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("c%d", r.seq.Add(1))
	if _, err := r.admin.CreateConsumer(ctx, stream, httpmq.NewConsumer{Name: name, Mode: "push", DeliveryGroup: "idle"}); err != nil {
		return nil, err
	}
	var out []Result
	// HTTP/1.1 first: the second measurement starts once the server has
	// let the first's sessions go, but its allocator may keep some of
	// their memory, which the second would then reuse unseen.
	for _, i := range []int{1, 0} {
		v := msgpackVariants[i]
		if !r.wants(v.name) {
			continue
		}
		var profile io.Writer
		if v.tr == httpmq.TransportHTTP1 {
			profile = r.o.ServerHeapProfile
		}
		res, err := r.idleSessions(ctx, stream, name, v.name, v.tr, profile)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// idleSessions measures Sessions idle sessions over tr subscribed to
// stream's consumer, writing the server's heap profile to profile (if
// set) while they are open. It returns once the server has let them go.
func (r *runner) idleSessions(ctx context.Context, stream, consumer, variant string, tr httpmq.Transport, profile io.Writer) (Result, error) {
	before, err := r.memstats(ctx)
	if err != nil {
		return Result{}, err
	}
	sessions := make([]*httpmq.Session, 0, r.o.Sessions)
	closeAll := func() {
		for _, s := range sessions {
			_ = s.Close()
		}
		sessions = nil
	}
	defer closeAll()
	start := time.Now()
	_, errs := parallel(ctx, 64, r.o.Sessions, func(ctx context.Context, _ int) error {
		s, err := r.session(ctx, httpmq.EncodingMsgpack, tr)
		if err != nil {
			return err
		}
		if _, err := s.Subscribe(ctx, stream, consumer, &httpmq.SubscribeOptions{Group: "idle"}); err != nil {
			_ = s.Close()
			return err
		}
		memMu.Lock()
		sessions = append(sessions, s)
		memMu.Unlock()
		return nil
	})
	after, err := r.memstats(ctx)
	if err != nil {
		return Result{}, err
	}
	if profile != nil {
		if err := r.fetch(ctx, "/debug/pprof/heap", profile); err != nil {
			return Result{}, err
		}
	}
	n := len(sessions)
	res := Result{Scenario: "memory", Variant: variant, Storage: "memory", Count: n, Errors: errs,
		Seconds: time.Since(start).Seconds()}
	if n > 0 {
		res.HeapPerSession = (float64(after.HeapInuse) - float64(before.HeapInuse)) / float64(n)
		res.StackPerSession = (float64(after.StackInuse) - float64(before.StackInuse)) / float64(n)
		res.BytesPerSession = res.HeapPerSession + res.StackPerSession
		res.GoroutinesPerSession = float64(after.Goroutines-before.Goroutines) / float64(n)
	}
	closeAll()
	// The next measurement starts from a server without these sessions.
	deadline := time.Now().Add(time.Minute)
	for {
		m, err := r.memstats(ctx)
		if err != nil {
			return res, err
		}
		if m.Goroutines <= before.Goroutines+n/100+10 {
			return res, nil
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d sessions still held by the server a minute after closing", m.Goroutines-before.Goroutines)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var memMu sync.Mutex

// fanout: FanOut sessions, each with its own consumer, read every message
// published to one subject.
func (r *runner) fanout(ctx context.Context, storage string) ([]Result, error) {
	k, count := r.o.FanOut, r.o.Count/r.o.FanOut
	stream, subject, err := r.stream(ctx, storage)
	if err != nil {
		return nil, err
	}
	nr, err := natsbench.FanOut(ctx, r.t.NATSURL, stream, subject, r.payload, k, count)
	if err != nil {
		return nil, err
	}
	res := r.base("fanout", "native", storage)
	res.Count, res.Concurrency, res.Rate, res.Seconds = nr.Messages, k, nr.Rate(), nr.Elapsed.Seconds()
	out := []Result{res}

	var subs []*httpmq.Subscription
	var sessions []*httpmq.Session
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	for range k {
		c, err := r.consumer(ctx, stream, "pull", "new")
		if err != nil {
			return nil, err
		}
		s, err := r.session(ctx, httpmq.EncodingMsgpack, httpmq.TransportHTTP2)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
		sub, err := s.Subscribe(ctx, stream, c, &httpmq.SubscribeOptions{MaxInflight: r.o.Window})
		if err != nil {
			return nil, err
		}
		subs = append(subs, sub)
	}
	var wg sync.WaitGroup
	var errs atomic.Int64
	start := time.Now()
	for _, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range count {
				m, err := sub.Next(ctx)
				if err != nil {
					errs.Add(1)
					return
				}
				_ = m.AckNoWait()
			}
		}()
	}
	if _, err := natsbench.Publish(ctx, r.t.NATSURL, subject, r.payload, count, r.o.Window); err != nil {
		return nil, err
	}
	wg.Wait()
	elapsed := time.Since(start)
	res = r.base("fanout", "session-msgpack", storage)
	res.Count, res.Concurrency, res.Errors, res.Seconds = k*count, k, int(errs.Load()), elapsed.Seconds()
	res.Rate = float64(k*count) / elapsed.Seconds()
	return append(out, res), nil
}
