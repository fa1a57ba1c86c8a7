package dataplane

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/metrics"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// Defaults of the batch publish limits.
const (
	DefaultMaxBatchMessages = 1000
	DefaultMaxBatchBytes    = 4 << 20
)

// BatchMessage is one message of a batch publish (POST /v1/data/publish).
type BatchMessage struct {
	Subject string `json:"subject"`
	// Data is the payload, base64 (standard or URL-safe, padding
	// optional), as a single publish's body.
	Data string `json:"data,omitempty"`
	// Headers become NATS message headers, under the rules of a single
	// publish's Httpmq-Header-* (docs/security.md).
	Headers map[string][]string `json:"headers,omitempty"`
	// MsgID de-duplicates within the stream's duplicate window.
	MsgID string `json:"msg_id,omitempty"`
}

// BatchResult is the outcome of one message of a batch publish: stored
// by JetStream (Success, with Stream, Sequence and Duplicate as a single
// publish answers), or the error a single publish of it would have
// answered.
type BatchResult struct {
	Success   bool
	Stream    string
	Sequence  uint64
	Duplicate bool
	Error     *protocol.Error
}

// MarshalJSON writes {"success":true,"stream":…,"sequence":…,"duplicate":…}
// or {"success":false,"error":{…}}.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	if !r.Success {
		e, err := json.Marshal(r.Error)
		if err != nil {
			return nil, err
		}
		return append(append([]byte(`{"success":false,"error":`), e...), '}'), nil
	}
	b := make([]byte, 0, 64+len(r.Stream))
	b = append(b, `{"success":true,"stream":`...)
	b = strconv.AppendQuote(b, r.Stream) // stream names are printable ASCII: valid JSON
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, r.Sequence, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, r.Duplicate)
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes (for clients and tests).
func (r *BatchResult) UnmarshalJSON(b []byte) error {
	var w struct {
		Success   bool            `json:"success"`
		Stream    string          `json:"stream"`
		Sequence  uint64          `json:"sequence"`
		Duplicate bool            `json:"duplicate"`
		Error     *protocol.Error `json:"error"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = BatchResult{Success: w.Success, Stream: w.Stream, Sequence: w.Sequence, Duplicate: w.Duplicate, Error: w.Error}
	return nil
}

// BatchPublishResult is the payload of a batch publish's answer, beside
// success and request_id: one result per message, in request order.
type BatchPublishResult struct {
	Results []BatchResult `json:"results"`
	// Published counts the messages JetStream stored (duplicates
	// included), Failed the others.
	Published int `json:"published"`
	Failed    int `json:"failed"`
}

// publishBatch handles POST /v1/data/publish: many messages in one
// request, each authorized, validated, rate-limited and published as a
// single publish would be, each with its own outcome. The messages are
// handed to JetStream in request order without waiting for one another;
// the answer comes once JetStream has answered them all. A request that
// cannot be read (malformed JSON, too large, too many messages) is
// refused whole, before anything is published.
func (h *Handler) publishBatch(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	msgs, err := h.readBatch(w, r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	results := make([]BatchResult, len(msgs))
	var wg sync.WaitGroup
	for i := range msgs {
		m, err := h.batchMessage(r, &msgs[i])
		if err != nil {
			h.metrics.Published(metrics.REST, 0, false, err)
			results[i] = failed(err)
			continue
		}
		start := time.Now()
		wg.Add(1)
		err = h.b.PublishAsync(m, func(ack bridge.PubAck, err error) {
			defer wg.Done()
			h.metrics.Published(metrics.REST, time.Since(start), ack.Duplicate, err)
			if err != nil {
				results[i] = failed(err)
				return
			}
			results[i] = BatchResult{Success: true, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
		})
		if err != nil {
			wg.Done()
			h.metrics.Published(metrics.REST, 0, false, err)
			results[i] = failed(err)
		}
	}
	wg.Wait()
	answer := BatchPublishResult{Results: results}
	for _, res := range results {
		if res.Success {
			answer.Published++
		} else {
			answer.Failed++
		}
	}
	httpx.OK(w, r, answer)
}

// batchMessage turns one message of a batch into what the bridge
// publishes, once the caller may publish it: the checks of a single
// publish, in the same order.
func (h *Handler) batchMessage(r *http.Request, bm *BatchMessage) (bridge.Message, error) {
	m := bridge.Message{Subject: bm.Subject, Header: bm.Headers, MsgID: bm.MsgID}
	if m.Subject == "" {
		return m, httpx.NewError(protocol.CodeBadRequest, "message without subject", "")
	}
	action, err := h.authorizePublish(r.Context(), m)
	if err != nil {
		return m, err
	}
	if m.Data, err = decodeBatchData(bm.Data); err != nil {
		return m, err
	}
	bm.Data = "" // the decoded payload is what the publish holds on to
	return m, h.gate.Limit(r.Context(), action, len(m.Data))
}

// decodeBatchData decodes a message's base64 payload: the common case
// (standard, padded, no whitespace) directly, anything else as a single
// publish's body.
func decodeBatchData(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	if n, err := base64.StdEncoding.Decode(out, []byte(s)); err == nil {
		return out[:n], nil
	}
	b, err := decodeBase64([]byte(s))
	if err != nil {
		return nil, httpx.NewError(protocol.CodeBadRequest, "data is not valid base64", err.(*protocol.Error).Detail)
	}
	return b, nil
}

func failed(err error) BatchResult {
	e := httpx.Classify(err)
	if e == nil {
		e = protocol.NewError(protocol.CodeInternal, "internal error")
	}
	return BatchResult{Error: e}
}

// readBatch reads a batch request's messages: a JSON array of
// [BatchMessage], or the objects one after the other (NDJSON), whatever
// the Content-Type. Unknown fields, malformed JSON, more than the
// message limit and a body over the byte limit refuse the whole request.
func (h *Handler) readBatch(w http.ResponseWriter, r *http.Request) ([]BatchMessage, error) {
	limit := h.maxBatchBytes
	if r.ContentLength > limit {
		return nil, httpx.BodyTooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, httpx.BodyTooLarge(limit)
	case err != nil:
		if e, ok := protocol.AsError(err); ok { // the body read timed out (httpx.WithBodyTimeout)
			return nil, e
		}
		return nil, httpx.NewError(protocol.CodeBadRequest, "could not read the request body", err.Error())
	}
	return decodeBatch(body, h.maxBatchMessages)
}

// decodeBatch parses a batch body of at most max messages.
func decodeBatch(body []byte, max int) ([]BatchMessage, error) {
	bad := func(detail string) error {
		return httpx.NewError(protocol.CodeBadRequest, "request body is not a batch of messages", detail)
	}
	text := bytes.TrimSpace(body)
	if len(text) == 0 {
		return nil, bad("the body is empty; send a JSON array of messages, or one message object per line")
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	array := text[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, bad(err.Error())
		}
	}
	var msgs []BatchMessage
	for {
		if array && !dec.More() {
			break
		}
		var m BatchMessage
		err := dec.Decode(&m)
		if !array && err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad(fmt.Sprintf("message %d: %v", len(msgs), err))
		}
		if len(msgs) == max {
			return nil, httpx.NewError(protocol.CodeBadRequest, "too many messages in one batch",
				"the limit is "+strconv.Itoa(max)+" messages")
		}
		msgs = append(msgs, m)
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, bad(err.Error())
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, bad(fmt.Sprintf("unexpected data after the array at offset %d", dec.InputOffset()))
		}
	}
	if len(msgs) == 0 {
		return nil, bad("no messages")
	}
	return msgs, nil
}
