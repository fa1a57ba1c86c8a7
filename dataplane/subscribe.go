package dataplane

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
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

// Query parameters of a live subscription to a subject: where to
// recover from, at most one of them.
const (
	// QueryFromSeq recovers from this stream sequence on.
	QueryFromSeq = "from_seq"
	// QuerySince recovers the messages stored since this time (RFC 3339).
	QuerySince = "since"
	// QueryLast recovers the last N messages.
	QueryLast = "last"
)

// listen handles GET /v1/data/subject/:subject: the subject's messages
// as they are published, after those recovered from the position the
// query asks (or, from an EventSource that reconnects, after its
// Last-Event-ID), until the client leaves. Nothing is acknowledged.
func (h *Handler) listen(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	o := session.LiveRequest{Subject: ps.ByName("subject")}
	if err := parseLive(r.URL.Query(), r.Header.Get("Last-Event-ID"), &o); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s := &stream{w: w, rc: http.NewResponseController(w), f: negotiate(r.Header.Get("Accept")),
		requestID: httpx.RequestID(r.Context()), heartbeat: h.heartbeat}
	every := h.heartbeat / 2
	if every <= 0 {
		every = time.Hour // no heartbeats
	}
	if err := h.clients.StreamLive(r, s, o, every, s.begin); err != nil {
		httpx.WriteError(w, r, err)
	}
}

// parseLive reads a live subscription's recovery position.
func parseLive(q url.Values, lastEventID string, o *session.LiveRequest) error {
	bad := func(name, v, want string) error {
		return httpx.NewError(protocol.CodeBadRequest, "invalid "+name, strconv.Quote(v)+" is not "+want)
	}
	n := 0
	for _, name := range []string{QueryFromSeq, QuerySince, QueryLast} {
		vs := q[name]
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return httpx.NewError(protocol.CodeBadRequest, "query parameter given more than once", name)
		}
		n++
		v := vs[0]
		switch name {
		case QueryFromSeq:
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil || seq == 0 {
				return bad(name, v, "a positive stream sequence")
			}
			o.FromSeq = seq
		case QuerySince:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return bad(name, v, "an RFC 3339 time")
			}
			o.Since = t
		case QueryLast:
			k, err := strconv.Atoi(v)
			if err != nil || k < 1 {
				return bad(name, v, "a positive integer")
			}
			o.Last = k
		}
	}
	if n > 1 {
		return httpx.NewError(protocol.CodeBadRequest, "recover from one position at most",
			QueryFromSeq+", "+QuerySince+" and "+QueryLast+" are exclusive")
	}
	if n == 0 && lastEventID != "" {
		if seq, err := strconv.ParseUint(lastEventID, 10, 64); err == nil {
			o.FromSeq = seq + 1
		}
	}
	return nil
}

// subscribe handles GET /v1/data/stream/:stream/consumer/:consumer: it
// answers errors found before the stream starts with a JSON envelope and
// its status, then streams deliveries until the client leaves, the
// subscription ends, the caller's credentials expire or the server shuts
// down (see session.Handler.Stream).
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	o := session.SubscribeRequest{Stream: ps.ByName("stream"), Consumer: ps.ByName("consumer")}
	if err := h.parseSubscribe(r.URL.Query(), &o); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	s := &stream{w: w, rc: http.NewResponseController(w), f: negotiate(r.Header.Get("Accept")),
		requestID: httpx.RequestID(r.Context()), heartbeat: h.heartbeat}
	every := h.heartbeat / 2
	if every <= 0 {
		every = time.Hour // no heartbeats
	}
	if err := h.clients.Stream(r, s, o, every, s.begin); err != nil {
		httpx.WriteError(w, r, err)
	}
}

// parseSubscribe reads the query parameters into o.
func (h *Handler) parseSubscribe(q url.Values, o *session.SubscribeRequest) error {
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
