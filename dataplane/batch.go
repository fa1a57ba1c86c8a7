package dataplane

import (
	"encoding/base64"
	"errors"
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
	results := make([]protocol.BatchResult, len(msgs))
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
			results[i] = protocol.BatchResult{Success: true, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
		})
		if err != nil {
			wg.Done()
			h.metrics.Published(metrics.REST, 0, false, err)
			results[i] = failed(err)
		}
	}
	wg.Wait()
	answer := protocol.BatchPublishResult{Results: results}
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
func (h *Handler) batchMessage(r *http.Request, bm *protocol.BatchMessage) (bridge.Message, error) {
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

func failed(err error) protocol.BatchResult {
	e := httpx.Classify(err)
	if e == nil {
		e = protocol.NewError(protocol.CodeInternal, "internal error")
	}
	return protocol.BatchResult{Error: e}
}

// readBatch reads a batch request's messages: a JSON array of
// [protocol.BatchMessage], or the objects one after the other (NDJSON), whatever
// the Content-Type. Unknown fields, malformed JSON, more than the
// message limit and a body over the byte limit refuse the whole request.
func (h *Handler) readBatch(w http.ResponseWriter, r *http.Request) ([]protocol.BatchMessage, error) {
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

// decodeBatch parses a batch body of at most max messages
// (protocol.DecodeBatch), refusing it with a bad_request.
func decodeBatch(body []byte, max int) ([]protocol.BatchMessage, error) {
	msgs, err := protocol.DecodeBatch(body, max)
	switch {
	case errors.Is(err, protocol.ErrTooManyMessages):
		return nil, httpx.NewError(protocol.CodeBadRequest, "too many messages in one batch",
			"the limit is "+strconv.Itoa(max)+" messages")
	case err != nil:
		return nil, httpx.NewError(protocol.CodeBadRequest, "request body is not a batch of messages", err.Error())
	}
	return msgs, nil
}
