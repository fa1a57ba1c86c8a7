package dataplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// Request headers and query parameters of a publish.
const (
	// EncodingHeader says how the publish body is encoded: "base64" (the
	// default, whatever the Content-Type) or "raw" (published as is). The
	// query parameter "encoding" says the same.
	EncodingHeader = "Httpmq-Body-Encoding"
	// MsgIDHeader carries a message id; JetStream stores a message only
	// once per id within the stream's duplicate window.
	MsgIDHeader = "Httpmq-Msg-Id"
	// HeaderPrefix marks request headers that become NATS message headers:
	// "Httpmq-Header-X-Trace: abc" publishes the header "X-Trace: abc".
	// Of JetStream's Nats-* headers only the conditional ones pass, when
	// the caller's permissions grant them (docs/security.md).
	HeaderPrefix = "Httpmq-Header-"
)

// Body encodings of a publish.
const (
	EncodingBase64 = "base64"
	EncodingRaw    = "raw"
)

// publish handles POST /v1/data/subject/:subject. The subject and the
// message headers are authorized before the body is read.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	m := bridge.Message{Subject: ps.ByName("subject"), MsgID: r.Header.Get(MsgIDHeader), Header: natsHeader(r.Header)}
	action, err := h.authorizePublish(r.Context(), m)
	if err != nil {
		h.refusePublish(w, r, err)
		return
	}
	if m.Data, err = h.body(w, r); err != nil {
		h.refusePublish(w, r, err)
		return
	}
	if err := h.gate.Limit(r.Context(), action, len(m.Data)); err != nil {
		h.refusePublish(w, r, err)
		return
	}
	start := time.Now()
	ack, err := h.publishOne(r.Context(), m)
	h.metrics.Published(metrics.REST, time.Since(start), ack.Duplicate, err)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.OK(w, r, PublishResult{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate})
}

// authorizePublish checks that the caller may publish m (subject and
// headers, before the payload is at hand) and that m's subject and
// headers are valid; it returns the action to rate-limit once the
// payload's size is known. Single and batch publishes share it.
func (h *Handler) authorizePublish(ctx context.Context, m bridge.Message) (auth.Action, error) {
	action := auth.Action{Kind: auth.Publish, Subject: m.Subject, Header: m.Header}
	if err := h.gate.Check(ctx, action); err != nil {
		return action, err
	}
	return action, bridge.ValidateMessage(m)
}

// publishOne publishes m through the bridge's asynchronous path (one
// shared ack handler, no reply subscription and timer per request) and
// waits for JetStream's answer, which comes within the bridge's request
// timeout, or for ctx. A client that leaves does not cancel the publish:
// JetStream may store the message all the same.
func (h *Handler) publishOne(ctx context.Context, m bridge.Message) (bridge.PubAck, error) {
	type answer struct {
		ack bridge.PubAck
		err error
	}
	done := make(chan answer, 1)
	if err := h.b.PublishAsync(m, func(ack bridge.PubAck, err error) { done <- answer{ack, err} }); err != nil {
		return bridge.PubAck{}, err
	}
	select {
	case a := <-done:
		return a.ack, a.err
	case <-ctx.Done():
		return bridge.PubAck{}, ctx.Err()
	}
}

// refusePublish answers a publish refused before JetStream was asked.
func (h *Handler) refusePublish(w http.ResponseWriter, r *http.Request, err error) {
	h.metrics.Published(metrics.REST, 0, false, err)
	httpx.WriteError(w, r, err)
}

// body reads and decodes the message payload.
func (h *Handler) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	encoding, err := bodyEncoding(r)
	if err != nil {
		return nil, err
	}
	body, err := h.readBody(w, r, encoding)
	if err != nil || encoding == EncodingRaw {
		return body, err
	}
	return decodeBase64(body)
}

// bodyEncoding reads the encoding signal from the header or the query.
func bodyEncoding(r *http.Request) (string, error) {
	fromHeader := strings.ToLower(strings.TrimSpace(r.Header.Get(EncodingHeader)))
	fromQuery := ""
	if r.URL.RawQuery != "" { // parsing an empty query still makes a map
		fromQuery = strings.ToLower(r.URL.Query().Get("encoding"))
	}
	switch {
	case fromHeader != "" && fromQuery != "" && fromHeader != fromQuery:
		return "", httpx.NewError(protocol.CodeBadRequest, "conflicting body encodings",
			EncodingHeader+" says "+strconv.Quote(fromHeader)+", the query says "+strconv.Quote(fromQuery))
	case fromHeader == "":
		fromHeader = fromQuery
	}
	switch fromHeader {
	case "", EncodingBase64:
		return EncodingBase64, nil
	case EncodingRaw:
		return EncodingRaw, nil
	}
	return "", httpx.NewError(protocol.CodeBadRequest, "unknown body encoding",
		strconv.Quote(fromHeader)+" is neither "+EncodingBase64+" nor "+EncodingRaw)
}

// readBody reads the body within the limit for its encoding.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, encoding string) ([]byte, error) {
	limit := h.maxBody
	if limit <= 0 {
		limit = bodyLimit(h.b.MaxPayload(), encoding)
	}
	if r.ContentLength > limit {
		return nil, h.tooLarge(limit)
	}
	var buf []byte
	if r.ContentLength >= 0 {
		buf = make([]byte, 0, r.ContentLength+1) // +1: room to read the end; within limit, checked above
	}
	body, err := httpx.AppendAll(buf, http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, h.tooLarge(limit)
	case err != nil:
		if e, ok := protocol.AsError(err); ok { // the body read timed out (httpx.WithBodyTimeout)
			return nil, e
		}
		return nil, httpx.NewError(protocol.CodeBadRequest, "could not read the request body", err.Error())
	}
	return body, nil
}

// bodyLimit is the largest body that may hold a payload of at most max
// bytes: base64 with line breaks and surrounding whitespace, or raw.
func bodyLimit(max int64, encoding string) int64 {
	if encoding == EncodingRaw {
		return max
	}
	enc := (max + 2) / 3 * 4
	return enc + enc/64 + 4096
}

// tooLarge is the error for a body over limit: body_too_large when the
// limit is the configured one, payload_too_large when it derives from
// NATS's max payload.
func (h *Handler) tooLarge(limit int64) error {
	if h.maxBody > 0 {
		return httpx.BodyTooLarge(limit)
	}
	return httpx.NewError(protocol.CodePayloadTooLarge, "message larger than the server accepts",
		"NATS accepts at most "+strconv.FormatInt(h.b.MaxPayload(), 10)+" bytes per message (headers included)")
}

// decodeBase64 decodes standard or URL-safe base64, padded or not,
// ignoring whitespace (line breaks of `base64`, a trailing newline).
func decodeBase64(body []byte) ([]byte, error) {
	text := body
	if bytes.ContainsAny(body, " \t\r\n") {
		text = bytes.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, body)
	}
	enc := base64.StdEncoding
	if bytes.ContainsAny(text, "-_") {
		enc = base64.URLEncoding
	}
	if len(text)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	out := make([]byte, enc.DecodedLen(len(text)))
	n, err := enc.Decode(out, text)
	if err != nil {
		return nil, httpx.NewError(protocol.CodeBadRequest, "request body is not valid base64",
			err.Error()+"; to publish the body as is, send "+EncodingHeader+": raw or ?encoding=raw")
	}
	return out[:n], nil
}

// natsHeader collects the Httpmq-Header-* request headers. HTTP header
// names are case-insensitive and arrive in canonical form, so the NATS
// header names do too ("X-Trace-Id"). JetStream's own Nats-* headers are
// kept for the gate and the bridge to judge: they control the stream
// (roll-ups, TTLs, expectations).
func natsHeader(h http.Header) map[string][]string {
	var out map[string][]string
	for k, vs := range h {
		if len(k) <= len(HeaderPrefix) || !strings.EqualFold(k[:len(HeaderPrefix)], HeaderPrefix) {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		name := http.CanonicalHeaderKey(k[len(HeaderPrefix):])
		out[name] = append(out[name], vs...)
	}
	return out
}
