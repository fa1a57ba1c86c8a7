// Command httpmq-bench measures httpmq against native nats.go on the same
// JetStream server, in one run, and prints a table (or, with -json, one
// JSON object per measurement).
//
// By default it starts its own server in a child process (itself, with
// -serve): JetStream embedded and listening on loopback, httpmq on one
// loopback HTTP listener (HTTP/1.1 and h2c). With -url and -nats-url it
// measures a running deployment instead. See docs/benchmarks.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/httpmq/httpmq/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "httpmq-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("httpmq-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o         bench.Options
		scenarios = fs.String("scenarios", "all", "comma-separated scenarios: "+strings.Join(bench.Scenarios, ", "))
		storages  = fs.String("storage", "file,memory", "stream storage to measure: file, memory or both")
		asJSON    = fs.Bool("json", false, "print one JSON object per measurement instead of a table")
		serve     = fs.Bool("serve", false, "run only the server (used by the benchmark itself for its child process)")
		inProc    = fs.Bool("in-process", false, "run the server in this process instead of a child process")
		url       = fs.String("url", "", "measure a running httpmq at this base URL (with -nats-url) instead of starting one")
		natsURL   = fs.String("nats-url", "", "the JetStream server that -url uses, for the native baseline")
		short     = fs.Bool("short", false, "tiny counts: checks that every scenario runs, measures nothing")
		tableFrom = fs.String("table-from", "", "print the table of a file of -json results, and run nothing")
		cpuprof   = fs.String("cpuprofile", "", "write a CPU profile of this process to `file` (with -in-process: client and server)")
		memprof   = fs.String("memprofile", "", "write the allocations this process made to `file`, sampled (with -in-process: client and server); go tool pprof -sample_index=alloc_space reads it")
		traceOut  = fs.String("trace", "", "write an execution trace of this process to `file` (with -in-process: client and server); go tool trace reads it")
		heapprof  = fs.String("server-heapprofile", "", "write the server's heap profile, taken while the memory scenario's HTTP/1.1 sessions are open, to `file`")
	)
	fs.IntVar(&o.Size, "size", 128, "payload size in bytes")
	fs.IntVar(&o.Count, "count", 20_000, "messages per throughput measurement")
	fs.IntVar(&o.Window, "window", 256, "publishes or deliveries awaiting their ack at once")
	fs.IntVar(&o.RESTConcurrency, "rest-concurrency", 32, "concurrent REST requests (h2c streams or HTTP/1.1 connections)")
	fs.IntVar(&o.LatencyRate, "latency-rate", 1000, "offered rate of the latency scenario, msg/s")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", 5*time.Second, "length of the latency scenario")
	fs.IntVar(&o.Sessions, "sessions", 10_000, "idle sessions of the memory scenario")
	variants := fs.String("variants", "", "comma-separated variants of publish, consume, memory and live to run (session-json, session-msgpack, session-msgpack-http1, session-json-http1, rest-h2c, rest-http1, rest-batch-h2c, and floor-h2c, floor-http1: the same requests as rest-h2c and rest-http1 to a handler that does nothing); native always runs; default all")
	fs.IntVar(&o.FanOut, "fanout", 16, "sessions reading every message in the fan-out scenario")
	fs.IntVar(&o.LiveSubscribers, "live-subscribers", 1000, "sessions listening to one subject in the live scenario")
	fs.IntVar(&o.LiveRate, "live-rate", 100, "offered rate of the live scenario's latency run, msg/s")
	fs.IntVar(&o.Rounds, "rounds", 1, "run every scenario this many times, one round after the other; the table gives each figure's median, and the ratio's range")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *serve {
		return serveOnly(ctx, stdout)
	}
	if *tableFrom != "" {
		results, err := bench.ReadJSON(*tableFrom)
		if err != nil {
			return err
		}
		return bench.WriteTable(stdout, results)
	}
	var err error
	if *variants != "" {
		o.Variants = strings.Split(*variants, ",")
	}
	if o.Scenarios, err = bench.ParseScenarios(*scenarios); err != nil {
		return err
	}
	o.Storages = strings.Split(*storages, ",")
	if *short {
		o.Count, o.Sessions, o.FanOut, o.LatencyDuration, o.LatencyRate = 200, 20, 2, 200*time.Millisecond, 200
		o.LiveSubscribers = 3
	}
	o.Progress = func(s string) { fmt.Fprintln(stderr, "running", s) }
	if *heapprof != "" {
		f, err := os.Create(*heapprof)
		if err != nil {
			return err
		}
		defer f.Close()
		o.ServerHeapProfile = f
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			return err
		}
		defer f.Close()
		defer func() {
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(stderr, "memprofile:", err)
			}
		}()
	}
	if *traceOut != "" {
		f, err := os.Create(*traceOut)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}

	target := bench.Target{HTTPURL: *url, NATSURL: *natsURL}
	switch {
	case *url != "" || *natsURL != "":
		if *url == "" || *natsURL == "" {
			return errors.New("-url and -nats-url go together")
		}
	case *inProc:
		srv, err := bench.StartServer(bench.ServerOptions{})
		if err != nil {
			return err
		}
		defer srv.Close()
		target = bench.Target{HTTPURL: srv.HTTPURL, NATSURL: srv.NATSURL, SharedProcess: true}
	default:
		child, t, err := startChild(ctx, stderr)
		if err != nil {
			return err
		}
		defer child()
		target = t
	}
	results, err := bench.Run(ctx, target, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return bench.WriteJSON(stdout, results)
	}
	return bench.WriteTable(stdout, results)
}

// serveOnly runs the server until ctx ends, after printing its target as
// one JSON line.
func serveOnly(ctx context.Context, stdout io.Writer) error {
	srv, err := bench.StartServer(bench.ServerOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := json.NewEncoder(stdout).Encode(bench.Target{HTTPURL: srv.HTTPURL, NATSURL: srv.NATSURL}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// startChild runs this program with -serve and reads the target it
// prints. The returned func stops it.
func startChild(ctx context.Context, stderr io.Writer) (func(), bench.Target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, bench.Target{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve")
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, bench.Target{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, bench.Target{}, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	var t bench.Target
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &t)
	}
	if err != nil {
		stop()
		return nil, t, fmt.Errorf("benchmark server: %w", err)
	}
	return stop, t, nil
}
