package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
)

// Paths of the operator endpoints withOps adds.
const (
	metricsPath = "/metrics"
	pprofPath   = "/debug/pprof/"
)

// withOps serves the operator endpoints in front of next: Prometheus
// metrics at /metrics and, with --pprof, Go's profiler under
// /debug/pprof/. They go on the management listener, or on the dataplane
// listener of "httpmq dataplane", which has no other.
//
// With authentication on, gate decides who may see them: /metrics needs
// admin read rights (unless --metrics-no-auth), the profiler admin full
// rights (a profile shows the heap, where secrets live). Without it they
// are open, like every route of a loopback-only server.
func withOps(next http.Handler, d deps, gate *auth.Gate) http.Handler {
	log := d.log.With("api", "ops")
	metrics := d.metrics.Handler()
	if !d.cfg.MetricsNoAuth {
		metrics = requireAdmin(metrics, gate, auth.AdminRead, log)
	} else {
		metrics = httpx.Wrap(metrics, httpx.Options{Logger: log})
	}
	var profiler http.Handler
	if d.cfg.PProf {
		mux := http.NewServeMux()
		mux.HandleFunc(pprofPath, pprof.Index) // the index and the named profiles (heap, goroutine…)
		mux.HandleFunc(pprofPath+"profile", pprof.Profile)
		mux.HandleFunc(pprofPath+"symbol", pprof.Symbol)
		mux.HandleFunc(pprofPath+"trace", pprof.Trace)
		// No cmdline: it would show secrets given as flags.
		mux.Handle(pprofPath+"cmdline", http.NotFoundHandler())
		profiler = requireAdmin(mux, gate, auth.AdminWrite, log)
	}
	// Not http.ServeMux at this level: it routes CONNECT requests by host,
	// and the dataplane's extended CONNECT must reach next by path.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == metricsPath:
			metrics.ServeHTTP(w, r)
		case profiler != nil && strings.HasPrefix(r.URL.Path, pprofPath):
			profiler.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// requireAdmin lets through requests whose identity (established by
// gate) may perform kind, and answers the others with the JSON error
// envelope, as every admin route does.
func requireAdmin(h http.Handler, gate *auth.Gate, kind auth.Kind, log *slog.Logger) http.Handler {
	check := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := gate.Check(r.Context(), auth.Action{Kind: kind}); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
	return httpx.Wrap(check, httpx.Options{Logger: log, Gate: gate})
}
