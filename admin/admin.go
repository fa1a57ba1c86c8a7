package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/julienschmidt/httprouter"
)

// DefaultReadyTimeout bounds the readiness check when
// [Options.ReadyTimeout] is zero.
const DefaultReadyTimeout = 2 * time.Second

// Options configure [New]. Every field has a usable zero value.
type Options struct {
	// Bridge is the JetStream connection. Nil answers 503 unavailable on
	// every route but liveness.
	Bridge *bridge.Bridge
	// Gate identifies callers and authorizes each action. Nil allows
	// everything.
	Gate *auth.Gate
	// Logger receives the access log and internal errors. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; larger ones answer 413
	// body_too_large. Default httpx.DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// ReadyTimeout bounds GET /v1/admin/ready (and never exceeds the
	// bridge's own request timeout). Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// api holds what the handlers share.
type api struct {
	bridge       *bridge.Bridge
	gate         *auth.Gate
	decode       httpx.DecodeOptions
	readyTimeout time.Duration
}

// errNoBridge answers every route when Options.Bridge is nil.
var errNoBridge = errors.New("no NATS connection is configured")

// New returns the management API. The handler is safe for concurrent use.
func New(opts Options) http.Handler {
	a := &api{
		bridge:       opts.Bridge,
		gate:         opts.Gate,
		decode:       httpx.DecodeOptions{MaxBytes: opts.MaxBodyBytes},
		readyTimeout: opts.ReadyTimeout,
	}
	if a.readyTimeout <= 0 {
		a.readyTimeout = DefaultReadyTimeout
	}
	r := httpx.NewRouter()

	r.GET(alivePath, a.alive)
	r.GET(readyPath, a.ready)

	r.POST("/v1/admin/stream", a.handle(a.createStream))
	r.GET("/v1/admin/stream", a.handle(a.listStreams))
	r.GET("/v1/admin/stream/:stream", a.handle(a.getStream))
	r.PUT("/v1/admin/stream/:stream", a.handle(a.updateStream))
	r.DELETE("/v1/admin/stream/:stream", a.handle(a.deleteStream))
	r.PUT("/v1/admin/stream/:stream/subject", a.handle(a.changeSubjects))
	r.PUT("/v1/admin/stream/:stream/limit", a.handle(a.changeLimits))
	r.POST("/v1/admin/stream/:stream/purge", a.handle(a.purgeStream))
	r.GET("/v1/admin/stream/:stream/message/:seq", a.handle(a.getMessage))

	r.POST("/v1/admin/stream/:stream/consumer", a.handle(a.createConsumer))
	r.GET("/v1/admin/stream/:stream/consumer", a.handle(a.listConsumers))
	r.GET("/v1/admin/stream/:stream/consumer/:consumer", a.handle(a.getConsumer))
	r.DELETE("/v1/admin/stream/:stream/consumer/:consumer", a.handle(a.deleteConsumer))

	// Probes answer without credentials: orchestrators send none.
	probes := httpx.Wrap(r, httpx.Options{Logger: opts.Logger})
	api := httpx.Wrap(r, httpx.Options{Logger: opts.Logger, Gate: opts.Gate})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case alivePath, readyPath:
			probes.ServeHTTP(w, req)
		default:
			api.ServeHTTP(w, req)
		}
	})
}

const (
	alivePath = "/v1/admin/alive"
	readyPath = "/v1/admin/ready"
)

// handlerFunc is a route's logic: it returns the payload of a successful
// answer (nil for none) or an error for [httpx.WriteError].
type handlerFunc func(r *http.Request, ps httprouter.Params) (any, error)

// handle adapts a handlerFunc to httprouter and answers the envelope.
func (a *api) handle(h handlerFunc) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if a.bridge == nil {
			httpx.WriteError(w, r, fmt.Errorf("%w: %v", bridge.ErrUnavailable, errNoBridge))
			return
		}
		payload, err := h(r, ps)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.OK(w, r, payload)
	}
}

// allow asks the gate whether the caller may do kind on stream/consumer.
func (a *api) allow(r *http.Request, kind auth.Kind, stream, consumer string) error {
	return a.gate.Check(r.Context(), auth.Action{Kind: kind, Stream: stream, Consumer: consumer})
}

// target authorizes kind on the route's stream and, for routes that name
// one, its consumer, then checks their names: the opening of every
// handler that acts on one stream or consumer and reads no body.
func (a *api) target(r *http.Request, kind auth.Kind, ps httprouter.Params) (stream, consumer string, err error) {
	stream, consumer = ps.ByName("stream"), ps.ByName("consumer")
	if err := a.allow(r, kind, stream, consumer); err != nil {
		return "", "", err
	}
	if err := validName("stream", stream); err != nil {
		return "", "", err
	}
	if consumer != "" { // httprouter never matches an empty segment
		if err := validName("consumer", consumer); err != nil {
			return "", "", err
		}
	}
	return stream, consumer, nil
}
