package dataplane_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/openapitest"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// dataplaneSpec is docs/openapi-dataplane.yaml under the contract checker.
func dataplaneSpec(t testing.TB) *openapitest.Spec {
	t.Helper()
	return openapitest.MustLoad(t, "../docs/openapi-dataplane.yaml", openapitest.Options{
		ErrorSchema:     "/components/schemas/ErrorAnswer",
		RequestIDHeader: "Httpmq-Request-ID",
	})
}

// contract sends requests to a dataplane server, validates every answer
// (and every accepted request) against docs/openapi-dataplane.yaml and
// records which operations answered which statuses.
type contract struct {
	srv  *server
	spec *openapitest.Spec
	cov  *openapitest.Coverage
}

// exchanged is an answer; Body is the whole JSON answer, or the first
// NDJSON line of a subscription stream, or empty for an SSE stream.
type exchanged struct {
	Status int
	Header http.Header
	Body   []byte
}

// code is error.reason of a JSON error answer, or "".
func (x exchanged) code() string {
	var a struct {
		Error struct{ Reason string } `json:"error"`
	}
	_ = json.Unmarshal(x.Body, &a)
	return a.Error.Reason
}

// do sends one request; headers are name, value pairs. A stream answer is
// read up to its first delivery line (NDJSON) or not at all (SSE), then
// left.
func (c *contract) do(t *testing.T, method, path string, body []byte, headers ...string) exchanged {
	t.Helper()
	ctx, cancel := context.WithTimeout(testenv.Context(t), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.srv.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	c.srv.checkProto(t, resp)
	x := exchanged{Status: resp.StatusCode, Header: resp.Header}
	switch resp.Header.Get("Content-Type") {
	case "application/x-ndjson":
		// Heartbeats are blanks before the line; the first line needs a
		// message waiting on the consumer.
		x.Body, err = bufio.NewReader(resp.Body).ReadBytes('\n')
		require.NoError(t, err, "%s %s: first NDJSON line", method, path)
	case "text/event-stream":
	default:
		x.Body, err = io.ReadAll(resp.Body)
		require.NoError(t, err)
	}
	op, err := c.spec.Check(openapitest.Exchange{
		Method: method, Path: req.URL.Path, RequestHeader: req.Header, RequestBody: body,
		Status: x.Status, Header: x.Header, Body: x.Body,
	})
	require.NoError(t, err, "%s %s: answer does not conform to docs/openapi-dataplane.yaml", method, path)
	c.cov.Record(op, x.Status)
	return x
}

// ok requires a 200 answer.
func (c *contract) ok(t *testing.T, method, path string, body []byte, headers ...string) exchanged {
	t.Helper()
	x := c.do(t, method, path, body, headers...)
	require.Equal(t, http.StatusOK, x.Status, "%s %s: %s", method, path, x.Body)
	return x
}

// fails requires an error answer with status and code.
func (c *contract) fails(t *testing.T, status int, code, method, path string, body []byte, headers ...string) {
	t.Helper()
	x := c.do(t, method, path, body, headers...)
	require.Equal(t, status, x.Status, "%s %s: %s", method, path, x.Body)
	require.Equal(t, code, x.code(), "%s %s: %s", method, path, x.Body)
}

// ack sends an acknowledgement of kind route as JSON.
func (c *contract) ack(t *testing.T, route, stream, consumer string, body any) exchanged {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return c.do(t, "POST", "/v1/data/stream/"+stream+"/consumer/"+consumer+"/"+route, b, "Content-Type", "application/json")
}

// TestOpenAPIConformance drives every operation of
// docs/openapi-dataplane.yaml to a success and to its typical failures,
// validating each answer against the document, then requires that every
// documented operation was exercised.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	spec := dataplaneSpec(t)
	cov := &openapitest.Coverage{}
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	c := &contract{srv: srv, spec: spec, cov: cov}
	limited := &contract{srv: serveBridge(t, env.Bridge, "http1", dataplane.Options{MaxBodyBytes: 1000, MaxBatchBytes: 1000}), spec: spec, cov: cov}
	createStream(t, env.Bridge, "S", "s.>")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "all", FilterSubjects: []string{"s.>"}, AckWait: time.Minute})
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "work", FilterSubjects: []string{"s.work"}, AckWait: time.Minute})
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "push", Push: true, FilterSubjects: []string{"s.push"}})
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "grp", Push: true, DeliverGroup: "g", FilterSubjects: []string{"s.grp"}})

	// Probes.
	c.ok(t, "GET", "/v1/data/alive", nil)
	c.ok(t, "GET", "/v1/data/ready", nil)

	// Publish.
	c.ok(t, "POST", "/v1/data/subject/s.a", []byte("SGVsbG8="), "Content-Type", "text/plain",
		"Httpmq-Msg-Id", "m1", "Httpmq-Header-Trace", "t1")
	var dup struct{ Duplicate bool }
	require.NoError(t, json.Unmarshal(c.ok(t, "POST", "/v1/data/subject/s.a", []byte("SGVsbG8="), "Content-Type", "text/plain",
		"Httpmq-Msg-Id", "m1").Body, &dup))
	assert.True(t, dup.Duplicate)
	c.ok(t, "POST", "/v1/data/subject/s.a?encoding=raw", []byte{0xff, 0, 1}, "Content-Type", "application/octet-stream")
	c.ok(t, "POST", "/v1/data/subject/s.a", []byte("raw text"), "Content-Type", "application/octet-stream", "Httpmq-Body-Encoding", "raw")
	c.fails(t, 400, "bad_request", "POST", "/v1/data/subject/s.a", []byte("not base64!"), "Content-Type", "text/plain")
	c.fails(t, 400, "bad_request", "POST", "/v1/data/subject/s.a?encoding=hex", []byte("00"))
	c.fails(t, 400, "reserved_header", "POST", "/v1/data/subject/s.a", []byte("AA=="), "Httpmq-Header-Nats-Rollup", "all")
	c.fails(t, 400, "reserved_subject", "POST", "/v1/data/subject/$JS.API.STREAM.DELETE.S", nil)
	c.fails(t, 412, "precondition_failed", "POST", "/v1/data/subject/s.a", []byte("AA=="), "Httpmq-Header-Nats-Expected-Stream", "OTHER")
	c.fails(t, 400, "invalid_subject", "POST", "/v1/data/subject/s.*", []byte("AA=="))
	c.fails(t, 404, "no_stream_for_subject", "POST", "/v1/data/subject/elsewhere", []byte("AA=="))
	tooBig := bytes.Repeat([]byte{'x'}, int(env.Bridge.MaxPayload())+1)
	c.fails(t, 413, "payload_too_large", "POST", "/v1/data/subject/s.a?encoding=raw", tooBig, "Content-Type", "application/octet-stream")
	limited.fails(t, 413, "body_too_large", "POST", "/v1/data/subject/s.a", bytes.Repeat([]byte("AAAA"), 300), "Content-Type", "text/plain")

	// Batch publish: per-message outcomes in a 200; unreadable batches
	// refused whole.
	x := c.ok(t, "POST", "/v1/data/publish", []byte(`[{"subject":"s.b","data":"SGVsbG8=","msg_id":"b1","headers":{"Trace":["t2"]}},`+
		`{"subject":"nowhere","data":"AA=="}]`), "Content-Type", "application/json")
	var batch protocol.BatchPublishResult
	require.NoError(t, json.Unmarshal(x.Body, &batch), "%s", x.Body)
	assert.Equal(t, 1, batch.Published)
	assert.Equal(t, "no_stream_for_subject", string(batch.Results[1].Error.Code))
	c.ok(t, "POST", "/v1/data/publish", []byte(`{"subject":"s.b"}`+"\n"+`{"subject":"s.b","data":"AA=="}`+"\n"), "Content-Type", "application/x-ndjson")
	c.fails(t, 400, "bad_request", "POST", "/v1/data/publish", []byte(`[]`), "Content-Type", "application/json")
	c.fails(t, 400, "bad_request", "POST", "/v1/data/publish", []byte(`[{"subject":"s.b","extra":1}]`), "Content-Type", "application/json")
	limited.fails(t, 413, "body_too_large", "POST", "/v1/data/publish", []byte(`[{"subject":"s.b","data":"`+strings.Repeat("A", 2000)+`"}]`),
		"Content-Type", "application/json")

	// Subscribe: the first NDJSON line is a Delivery (with headers).
	x = c.ok(t, "GET", "/v1/data/stream/S/consumer/all", nil)
	assert.Equal(t, "application/x-ndjson", x.Header.Get("Content-Type"))
	var first dataplane.Delivery
	require.NoError(t, json.Unmarshal(x.Body, &first), "%s", x.Body)
	assert.Equal(t, []string{"t1"}, first.Headers["Trace"])
	publishN(t, env.Bridge, "s.grp", 1)
	x = c.ok(t, "GET", "/v1/data/stream/S/consumer/grp?delivery_group=g&subject_name=s.grp&max_msg_inflight=2", nil,
		"Httpmq-Request-ID", "contract-1")
	assert.Contains(t, string(x.Body), `"request_id":"contract-1"`)
	x = c.ok(t, "GET", "/v1/data/stream/S/consumer/all", nil, "Accept", "text/event-stream")
	assert.Equal(t, "text/event-stream", x.Header.Get("Content-Type"))
	c.fails(t, 404, "stream_not_found", "GET", "/v1/data/stream/nope/consumer/all", nil)

	// Live: the first line is a stored message recovered.
	x = c.ok(t, "GET", "/v1/data/subject/s.>?from_seq=1", nil)
	var live dataplane.Delivery
	require.NoError(t, json.Unmarshal(x.Body, &live), "%s", x.Body)
	assert.Equal(t, uint64(1), live.Sequence.Stream)
	c.fails(t, 400, "bad_request", "GET", "/v1/data/subject/s.>?last=0", nil)
	c.fails(t, 400, "reserved_subject", "GET", "/v1/data/subject/_INBOX.>", nil)
	c.fails(t, 404, "consumer_not_found", "GET", "/v1/data/stream/S/consumer/nope", nil)
	c.fails(t, 400, "bad_request", "GET", "/v1/data/stream/S/consumer/all?max_msg_inflight=0", nil)
	c.fails(t, 400, "invalid_subject", "GET", "/v1/data/stream/S/consumer/all?subject_name=s..a", nil)
	c.fails(t, 409, "deliver_group_mismatch", "GET", "/v1/data/stream/S/consumer/grp?delivery_group=other", nil)
	c.fails(t, 409, "filter_mismatch", "GET", "/v1/data/stream/S/consumer/all?subject_name=s.a", nil)

	// Acknowledgements, on messages a subscriber holds.
	publishN(t, env.Bridge, "s.work", 3)
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/work?max_msg_inflight=3", nil)
	d1, d2, d3 := sub.next(t), sub.next(t), sub.next(t)
	seq := func(d dataplane.Delivery, extra ...any) map[string]any {
		m := map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	require.Equal(t, 200, c.ack(t, "progress", "S", "work", seq(d1)).Status)
	require.Equal(t, 200, c.ack(t, "ack", "S", "work", seq(d1, "type", "ack")).Status)
	x = c.ack(t, "ack", "S", "work", seq(d1))
	assert.Equal(t, 200, x.Status)
	assert.Contains(t, string(x.Body), `"duplicate":true`)
	x = c.ack(t, "nak", "S", "work", seq(d1))
	assert.Equal(t, 409, x.Status)
	assert.Equal(t, "ack_not_pending", x.code())
	require.Equal(t, 200, c.ack(t, "nak", "S", "work", seq(d2, "delay", "1m", "deliveries", d2.Deliveries)).Status)
	require.Equal(t, 200, c.ack(t, "term", "S", "work", seq(d3, "reason", "poison")).Status)
	for _, route := range []string{"ack", "nak", "term", "progress"} {
		path := "/v1/data/stream/S/consumer/work/" + route
		c.fails(t, 409, "ack_not_pending", "POST", path, []byte(`{"consumer":50,"stream":90}`), "Content-Type", "application/json")
		c.fails(t, 404, "consumer_not_found", "POST", "/v1/data/stream/S/consumer/nope/"+route, []byte(`{"consumer":1,"stream":1}`))
		c.fails(t, 400, "bad_request", "POST", path, []byte(`{}`))
	}
	c.fails(t, 404, "stream_not_found", "POST", "/v1/data/stream/nope/consumer/work/ack", []byte(`{"consumer":1,"stream":1}`))
	c.fails(t, 400, "bad_request", "POST", "/v1/data/stream/S/consumer/work/nak", []byte(`{"consumer":1,"stream":1,"delay":"soon"}`))

	// Unknown routes and methods answer the error envelope.
	c.fails(t, 404, "not_found", "GET", "/v1/data/nothing", nil)
	c.fails(t, 405, "method_not_allowed", "DELETE", "/v1/data/subject/s.a", nil)
	c.fails(t, 405, "method_not_allowed", "GET", "/v1/data/stream/S/consumer/work/ack", nil)

	assert.Empty(t, cov.Missing(spec), "documented operations never answered with success")
	for op, statuses := range map[string][]int{
		"POST /v1/data/subject/{subject}":                            {200, 400, 404, 413},
		"POST /v1/data/publish":                                      {200, 400, 413},
		"GET /v1/data/stream/{stream}/consumer/{consumer}":           {200, 400, 404, 409},
		"POST /v1/data/stream/{stream}/consumer/{consumer}/ack":      {200, 400, 404, 409},
		"POST /v1/data/stream/{stream}/consumer/{consumer}/nak":      {200, 400, 404, 409},
		"POST /v1/data/stream/{stream}/consumer/{consumer}/term":     {200, 400, 404, 409},
		"POST /v1/data/stream/{stream}/consumer/{consumer}/progress": {200, 400, 404, 409},
	} {
		for _, st := range statuses {
			assert.True(t, cov.Answered(op, st), "%s never answered %d", op, st)
		}
	}
}

// TestOpenAPIUnavailable: with NATS unreachable, readiness and every
// route that needs NATS answer the documented 503.
func TestOpenAPIUnavailable(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{RequestTimeout: 500 * time.Millisecond})
	c := &contract{srv: serveBridge(t, env.Bridge, "h2c", dataplane.Options{}), spec: dataplaneSpec(t), cov: &openapitest.Coverage{}}
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
	env.Server.Shutdown()
	c.fails(t, 503, "unavailable", "GET", "/v1/data/ready", nil)
	c.fails(t, 503, "unavailable", "POST", "/v1/data/subject/s", []byte("AA=="), "Content-Type", "text/plain")
	c.fails(t, 503, "unavailable", "GET", "/v1/data/stream/S/consumer/c", nil)
	c.fails(t, 503, "unavailable", "GET", "/v1/data/subject/s", nil)
	for _, route := range []string{"ack", "nak", "term", "progress"} {
		c.fails(t, 503, "unavailable", "POST", "/v1/data/stream/S/consumer/c/"+route, []byte(`{"consumer":1,"stream":1}`), "Content-Type", "application/json")
	}
	// A batch answers each message's outcome: unavailable.
	x := c.ok(t, "POST", "/v1/data/publish", []byte(`[{"subject":"s","data":"AA=="}]`), "Content-Type", "application/json")
	var batch protocol.BatchPublishResult
	require.NoError(t, json.Unmarshal(x.Body, &batch), "%s", x.Body)
	require.Len(t, batch.Results, 1)
	assert.Equal(t, "unavailable", string(batch.Results[0].Error.Code))
	assert.True(t, batch.Results[0].Error.Retryable)
	c.ok(t, "GET", "/v1/data/alive", nil)
	for _, op := range dataplaneSpec(t).Operations() {
		if !strings.HasSuffix(op, "/alive") && op != "POST /v1/data/publish" {
			assert.True(t, c.cov.Answered(op, 503), "%s never answered 503", op)
		}
	}
}
