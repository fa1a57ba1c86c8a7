package dataplane

import (
	"net/http"
	"strings"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// maxAckBody bounds an ack request body.
const maxAckBody = 64 << 10

// ackRoutes maps the last path element of each ack route to the kind it
// fixes; "ack" takes the kind from the body's type (default ack).
var ackRoutes = map[string]string{"ack": "", "nak": "nak", "term": "term", "progress": "progress"}

// ackKinds maps the type names to bridge kinds.
var ackKinds = map[string]bridge.AckKind{
	"ack": bridge.Ack, "nak": bridge.Nak, "term": bridge.Term,
	"progress": bridge.InProgress, "in_progress": bridge.InProgress,
}

// ack handles POST /v1/data/stream/:stream/consumer/:consumer/{ack,nak,term,progress}:
// it answers success only once JetStream recorded the acknowledgement
// ("duplicate": true when this same delivery had been answered so
// already: a retry), and an error for one that would not count.
func (h *Handler) ack(route string) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		stream, consumer := ps.ByName("stream"), ps.ByName("consumer")
		if err := h.gate.Check(r.Context(), auth.Action{Kind: auth.Ack, Stream: stream, Consumer: consumer}); err != nil {
			h.metrics.Acked(metrics.REST, ackMetricKind(route), 0, false, err)
			httpx.WriteError(w, r, err)
			return
		}
		var body AckRequest
		if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{MaxBytes: maxAckBody}); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		req, err := ackRequest(route, stream, consumer, body)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		start := time.Now()
		res, err := h.b.Ack(r.Context(), req)
		h.metrics.Acked(metrics.REST, ackMetricKind(req.Kind.String()), time.Since(start), res.Duplicate, err)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		httpx.OK(w, r, protocol.AckResult{Duplicate: res.Duplicate})
	}
}

// ackMetricKind is the metrics label of an ack kind or route: ack, nak,
// term or progress.
func ackMetricKind(kind string) string {
	if kind == "in_progress" {
		return "progress"
	}
	return kind
}

// ackRequest checks the body against the route and builds the request.
func ackRequest(route, stream, consumer string, body AckRequest) (bridge.AckRequest, error) {
	bad := func(msg, detail string) error { return httpx.NewError(protocol.CodeBadRequest, msg, detail) }
	typ := strings.ToLower(body.Type)
	if fixed := ackRoutes[route]; fixed != "" {
		if typ != "" && ackKinds[typ] != ackKinds[fixed] {
			return bridge.AckRequest{}, bad("type does not match the route", "type "+body.Type+" sent to /"+route)
		}
		typ = fixed
	}
	if typ == "" {
		typ = "ack"
	}
	kind, ok := ackKinds[typ]
	if !ok {
		return bridge.AckRequest{}, bad("unknown ack type", body.Type+" is not one of ack, nak, term, progress")
	}
	switch {
	case body.Stream == 0 || body.Consumer == 0:
		return bridge.AckRequest{}, bad("stream and consumer sequences are required",
			`send {"consumer":N,"stream":M}: the sequence numbers the message arrived with, both positive`)
	case body.Delay < 0:
		return bridge.AckRequest{}, bad("delay must not be negative", "")
	case body.Delay != 0 && kind != bridge.Nak:
		return bridge.AckRequest{}, bad("delay is for nak only", "")
	case body.Reason != "" && kind != bridge.Term:
		return bridge.AckRequest{}, bad("reason is for term only", "")
	}
	return bridge.AckRequest{
		Stream: stream, Consumer: consumer, StreamSeq: body.Stream, ConsumerSeq: body.Consumer,
		Deliveries: body.Deliveries, Kind: kind, Delay: time.Duration(body.Delay), Reason: body.Reason,
	}, nil
}
