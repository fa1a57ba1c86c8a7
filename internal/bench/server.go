package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/session"
)

// Server is httpmq and JetStream, serving on loopback.
type Server struct {
	// NATSURL is the embedded server's TCP address, for native clients.
	NATSURL string
	// HTTPURL serves /v1/admin, /v1/data, /v1/session and
	// /bench/memstats and /bench/cpu, plus /debug/pprof.
	HTTPURL string

	emb      *bridge.Embedded
	b        *bridge.Bridge
	srv      *http.Server
	sessions *session.Handler
	rest     *dataplane.Handler
	done     chan error
}

// ServerOptions configure [StartServer].
type ServerOptions struct {
	// Dir stores JetStream's data; default a new temporary directory.
	Dir string
	// Logger; default discards.
	Logger *slog.Logger
}

// StartServer starts JetStream and httpmq on loopback.
func StartServer(o ServerOptions) (*Server, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "httpmq-bench-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	emb, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: dir, Listen: "127.0.0.1:-1", Logger: log})
	if err != nil {
		return nil, err
	}
	s := &Server{NATSURL: emb.ClientURL(), emb: emb, done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.b, err = bridge.Connect(ctx, bridge.Config{URLs: []string{emb.ClientURL()}, Logger: log})
	if err != nil {
		emb.Shutdown()
		return nil, err
	}
	s.sessions = session.New(session.Options{Broker: s.b, Logger: log, MaxSessions: 1 << 20})
	s.rest = dataplane.New(dataplane.Options{Bridge: s.b, Logger: log})
	mgmt := admin.New(admin.Options{Bridge: s.b, Logger: log})
	mux := http.NewServeMux()
	mux.HandleFunc("/bench/memstats", memstats)
	mux.HandleFunc("/bench/cpu", cpu)
	mux.HandleFunc("/bench/floor", floor)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
	mux.Handle("/v1/admin/", mgmt)
	mux.Handle("/v1/data/", s.rest)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/session" { // CONNECT included, which ServeMux routes by host
			s.sessions.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	s.HTTPURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
	s.srv.Protocols.SetHTTP1(true)
	s.srv.Protocols.SetUnencryptedHTTP2(true)
	s.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1000}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops everything.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.srv != nil {
		_ = s.sessions.Shutdown(ctx)
		_ = s.rest.Shutdown(ctx)
		_ = s.srv.Shutdown(ctx)
		if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench server:", err)
		}
	}
	s.b.Close()
	s.emb.Shutdown()
}

// MemStats is the server process's memory, as /bench/memstats reports it.
type MemStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
	Sessions   int    `json:"sessions"`
}

// cpu reports the CPU time (user and system) the server process used so
// far, in nanoseconds: JetStream's and httpmq's, which share it.
func cpu(w http.ResponseWriter, _ *http.Request) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorAnswer is as long as a publish's answer.
var floorAnswer = []byte(`{"success":true,"request_id":"9e7828a1-8446-4f7a-8775-f33a501a41c8","stream":"S","sequence":1,"duplicate":false}` + "\n")

// floor reads the request's body and answers floorAnswer: what a request
// costs Go's HTTP server (and the client) when the handler does nothing.
func floor(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(floorAnswer)
}

func memstats(w http.ResponseWriter, r *http.Request) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(MemStats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine()})
}
