package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/session"
	"github.com/julienschmidt/httprouter"
)

// Defaults for the zero fields of [Options].
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	DefaultMaxInFlight  = 1
)

// Bridge is what the dataplane needs of JetStream; *bridge.Bridge
// implements it.
type Bridge interface {
	session.Broker
	Publish(ctx context.Context, m bridge.Message) (bridge.PubAck, error)
	MaxPayload() int64
	Ready(ctx context.Context) error
}

var _ Bridge = (*bridge.Bridge)(nil)

// Options configure [New]. Every field but Bridge has a usable zero value.
type Options struct {
	// Bridge is the JetStream connection. Required.
	Bridge Bridge
	// Gate identifies every request, authorizes each publish, subscribe
	// and ack, and applies per-identity publish rate limits. Nil allows
	// everything.
	Gate *auth.Gate
	// Logger receives the access log and internal errors. Default
	// slog.Default().
	Logger *slog.Logger
	// Clients hosts the subscription streams, which are clients of the
	// same machinery as WebSocket sessions (flow control, slow-client
	// policy, credential expiry, shutdown). Share the server's session
	// handler here; nil makes one of its own with Bridge, Gate and
	// Logger and default limits.
	Clients *session.Handler
	// Heartbeat is how long a subscription stream may stay silent before
	// the server writes a heartbeat. Default [DefaultHeartbeat]; negative
	// disables heartbeats.
	Heartbeat time.Duration
	// MaxBodyBytes bounds a publish request body; a larger one answers 413
	// body_too_large. Default: what NATS's max payload needs in the
	// body's encoding, a larger body answering 413 payload_too_large.
	MaxBodyBytes int64
	// DefaultMaxInFlight is a subscriber's cap on unacknowledged messages
	// when the request has no max_msg_inflight. Default
	// [DefaultMaxInFlight], the original httpmq's.
	DefaultMaxInFlight int
	// Metrics records publishes, deliveries and acks. Nil records
	// nothing.
	Metrics *metrics.Metrics
	// MaxBatchMessages bounds the messages of one batch publish
	// (POST /v1/data/publish). Default [DefaultMaxBatchMessages].
	MaxBatchMessages int
	// MaxBatchBytes bounds a batch publish's request body; a larger one
	// answers 413 body_too_large. Default [DefaultMaxBatchBytes].
	MaxBatchBytes int64
}

// Handler is the REST dataplane. It is safe for concurrent use.
type Handler struct {
	b           Bridge
	gate        *auth.Gate
	log         *slog.Logger
	clients     *session.Handler
	heartbeat   time.Duration
	maxBody     int64
	maxInFlight int
	metrics     *metrics.Metrics
	http        http.Handler

	maxBatchMessages int
	maxBatchBytes    int64
}

// New returns the dataplane handler, with the request-id, access-log and
// identity middleware of internal/httpx already applied.
func New(opts Options) *Handler {
	h := &Handler{
		b: opts.Bridge, gate: opts.Gate, log: opts.Logger, clients: opts.Clients,
		heartbeat: opts.Heartbeat, maxBody: opts.MaxBodyBytes, maxInFlight: opts.DefaultMaxInFlight,
		metrics: opts.Metrics, maxBatchMessages: opts.MaxBatchMessages, maxBatchBytes: opts.MaxBatchBytes,
	}
	if h.maxBatchMessages <= 0 {
		h.maxBatchMessages = DefaultMaxBatchMessages
	}
	if h.maxBatchBytes <= 0 {
		h.maxBatchBytes = DefaultMaxBatchBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.clients == nil {
		h.clients = session.New(session.Options{Broker: opts.Bridge, Gate: opts.Gate, Logger: h.log})
	}
	if h.heartbeat == 0 {
		h.heartbeat = DefaultHeartbeat
	}
	if h.maxInFlight <= 0 {
		h.maxInFlight = DefaultMaxInFlight
	}
	r := httpx.NewRouter()
	r.GET("/v1/data/alive", h.alive)
	r.GET("/v1/data/ready", h.ready)
	r.POST("/v1/data/subject/:subject", h.publish)
	r.POST("/v1/data/publish", h.publishBatch)
	r.GET("/v1/data/subject/:subject", h.listen)
	r.GET("/v1/data/stream/:stream/consumer/:consumer", h.subscribe)
	for route := range ackRoutes {
		r.POST("/v1/data/stream/:stream/consumer/:consumer/"+route, h.ack(route))
	}
	// Probes answer without credentials: orchestrators send none.
	probes := httpx.Wrap(r, httpx.Options{Logger: h.log})
	api := httpx.Wrap(r, httpx.Options{Logger: h.log, Gate: opts.Gate})
	h.http = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/v1/data/alive", "/v1/data/ready":
			probes.ServeHTTP(w, req)
		default:
			api.ServeHTTP(w, req)
		}
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.http.ServeHTTP(w, r) }

// Shutdown ends every subscription stream with a final shutting_down
// object and refuses new subscriptions with 503 (and, when the session
// handler is shared, does the same to WebSocket sessions). It returns
// once every stream has ended, or with ctx's error when ctx ends first.
// Publishes and acks keep working: http.Server.Shutdown takes care of
// those.
func (h *Handler) Shutdown(ctx context.Context) error {
	if err := h.clients.Shutdown(ctx); err != nil {
		return fmt.Errorf("dataplane shutdown: %d subscription streams still open: %w", h.ActiveSubscriptions(), err)
	}
	return nil
}

// Close is Shutdown bounded by the write timeout: a stream whose client
// does not read ends at the latest then. Close is idempotent.
func (h *Handler) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWriteTimeout+time.Second)
	defer cancel()
	return h.Shutdown(ctx)
}

// ActiveSubscriptions is the number of open subscription streams.
func (h *Handler) ActiveSubscriptions() int {
	st := h.clients.Stats()
	return st.Clients - st.Sessions
}

// alive answers 200 as long as the process serves HTTP.
func (h *Handler) alive(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	httpx.OK(w, r, nil)
}

// ready answers 200 when NATS is connected and JetStream answers, else
// 503 unavailable, within the bridge's request timeout.
func (h *Handler) ready(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if err := h.b.Ready(r.Context()); err != nil {
		if !errors.Is(err, bridge.ErrUnavailable) {
			// Whatever went wrong, the answer is "not ready", never 500.
			err = fmt.Errorf("%w: %v", bridge.ErrUnavailable, err)
		}
		httpx.WriteError(w, r, err)
		return
	}
	httpx.OK(w, r, nil)
}
