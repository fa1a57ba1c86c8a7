package main

import (
	"context"
	"net/http"

	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/session"
)

// sessionPath is where WebSocket sessions are accepted on the dataplane
// listener (GET for HTTP/1.1 Upgrade, CONNECT for HTTP/2).
const sessionPath = "/v1/session"

// observe makes the handlers' counts the sources of the gauges of m.
func observe(m *metrics.Metrics, sessions *session.Handler, rest *dataplane.Handler) {
	m.Observe(metrics.SessionsOpen, metrics.Session, sessions.Sessions)
	m.Observe(metrics.Subscriptions, metrics.Session, func() int { st := sessions.Stats(); return st.Subscriptions - st.REST.Subscriptions })
	m.Observe(metrics.InFlight, metrics.Session, func() int { st := sessions.Stats(); return st.InFlight - st.REST.InFlight })
	m.Observe(metrics.InFlight, metrics.REST, func() int { return sessions.Stats().REST.InFlight })
	m.Observe(metrics.QueuedBytes, metrics.Session, func() int { st := sessions.Stats(); return st.QueuedBytes - st.REST.QueuedBytes })
	m.Observe(metrics.QueuedBytes, metrics.REST, func() int { return sessions.Stats().REST.QueuedBytes })
	m.Observe(metrics.Subscriptions, metrics.REST, rest.ActiveSubscriptions)
}

// dataplaneHandler is the dataplane API: the REST dataplane (publish,
// subscribe, ack under /v1/data/) and the WebSocket sessions
// (/v1/session). Both are ended at shutdown by hooks: http.Server.Shutdown
// waits for neither long-lived REST streams nor hijacked WebSockets.
func dataplaneHandler(d deps) http.Handler {
	sessions := session.New(session.Options{
		Broker:               d.bridge,
		Gate:                 d.sec.dataplane,
		Logger:               d.log.With("api", "session"),
		MaxFrameBytes:        int64(d.cfg.MaxFrame),
		MaxSubscriptions:     d.cfg.MaxSubscriptions,
		MaxSessions:          d.cfg.MaxSessions,
		MaxQueuedBytes:       int(d.cfg.MaxQueuedBytes),
		SlowConsumerTimeout:  d.cfg.SlowConsumerTimeout,
		PingInterval:         d.cfg.PingInterval,
		OriginPatterns:       d.cfg.AllowedOrigins,
		AllowLoopbackOrigins: d.cfg.loopbackDev(),
		Metrics:              d.metrics,
	})
	rest := dataplane.New(dataplane.Options{
		Bridge:       d.bridge,
		Gate:         d.sec.dataplane,
		Logger:       d.log.With("api", "dataplane"),
		Heartbeat:    d.cfg.Heartbeat,
		MaxBodyBytes: int64(d.cfg.MaxPublishBody),
		Clients:      sessions,
		Metrics:      d.metrics,
	})
	observe(d.metrics, sessions, rest)
	d.onShutdown.Add(func(ctx context.Context) { _ = sessions.Shutdown(ctx) })
	d.onShutdown.Add(func(ctx context.Context) { _ = rest.Shutdown(ctx) })
	restCORS := withCORS(rest, d.cfg.CORSOrigins)
	// Not http.ServeMux: it treats CONNECT requests by host, and HTTP/2
	// extended CONNECT is routed by path like any request.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == sessionPath {
			sessions.ServeHTTP(w, r)
			return
		}
		restCORS.ServeHTTP(w, r)
	})
}
