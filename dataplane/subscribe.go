package dataplane

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// Query parameters of a subscription, as in the original httpmq.
const (
	// QuerySubject narrows nothing: it must equal or cover the consumer's
	// filter subjects. Optional (the original required it).
	QuerySubject = "subject_name"
	// QueryMaxInFlight caps this subscriber's unacknowledged messages.
	QueryMaxInFlight = "max_msg_inflight"
	// QueryDeliveryGroup must match a push consumer's delivery group.
	QueryDeliveryGroup = "delivery_group"
)

// subscribe handles GET /v1/data/stream/:stream/consumer/:consumer: it
// answers errors found before the stream starts with a JSON envelope and
// its status, then streams deliveries until the client leaves, the
// subscription ends, the caller's credentials expire or the handler shuts
// down.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	o := bridge.SubscribeOptions{Stream: ps.ByName("stream"), Consumer: ps.ByName("consumer")}
	if err := h.gate.Check(r.Context(), auth.Action{Kind: auth.Subscribe, Stream: o.Stream, Consumer: o.Consumer}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := h.parseSubscribe(r.URL.Query(), &o); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	if exp := auth.IdentityFrom(r.Context()).Expires; !exp.IsZero() {
		// The stream ends when the credentials it was opened with do.
		var stop context.CancelFunc
		ctx, stop = context.WithDeadlineCause(ctx, exp, errCredentialsExpired)
		defer stop()
	}
	s := &stream{h: h, w: w, rc: http.NewResponseController(w), f: negotiate(r.Header.Get("Accept")),
		requestID: httpx.RequestID(r.Context()), cancel: cancel, done: make(chan struct{})}
	if err := h.register(s); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	defer h.unregister(s)
	sub, err := h.b.Subscribe(ctx, o)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && r.Context().Err() == nil {
			err = cause // shutting down
		}
		httpx.WriteError(w, r, err)
		return
	}
	defer func() { _ = sub.Close() }() // Close always returns nil
	httpx.Logger(r.Context()).Debug("subscription started", "stream", o.Stream, "consumer", o.Consumer,
		"max_inflight", sub.MaxInFlight(), "pull", sub.Pull(), "proto", r.Proto)
	reason := s.run(ctx, sub)
	httpx.Logger(r.Context()).Debug("subscription ended", "stream", o.Stream, "consumer", o.Consumer, "reason", reason)
}

// parseSubscribe reads the query parameters into o.
func (h *Handler) parseSubscribe(q url.Values, o *bridge.SubscribeOptions) error {
	one := func(name string) (string, error) {
		vs := q[name]
		if len(vs) > 1 {
			return "", httpx.NewError(protocol.CodeBadRequest, "query parameter given more than once", name)
		}
		if len(vs) == 0 {
			return "", nil
		}
		return vs[0], nil
	}
	var err error
	if o.Filter, err = one(QuerySubject); err != nil {
		return err
	}
	if o.Group, err = one(QueryDeliveryGroup); err != nil {
		return err
	}
	inflight, err := one(QueryMaxInFlight)
	if err != nil {
		return err
	}
	o.MaxInFlight = h.maxInFlight
	if inflight != "" {
		n, err := strconv.Atoi(inflight)
		if err != nil || n < 1 {
			return httpx.NewError(protocol.CodeBadRequest, "invalid "+QueryMaxInFlight,
				strconv.Quote(inflight)+" is not a positive integer")
		}
		o.MaxInFlight = n
	}
	return nil
}
