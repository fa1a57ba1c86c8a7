package dataplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// TestPublishErrors: each failure answers the envelope with its status
// and code.
func TestPublishErrors(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	limited := serveBridge(t, env.Bridge, "http1", dataplane.Options{MaxBodyBytes: 1000})
	createStream(t, env.Bridge, "S", "s.>")
	tooBig := bytes.Repeat([]byte{'x'}, int(env.Bridge.MaxPayload())+1)
	cases := []struct {
		name   string
		srv    *server
		path   string
		body   []byte
		header http.Header
		status int
		code   protocol.Code
	}{
		{"no stream captures the subject", srv, "/v1/data/subject/elsewhere", []byte("AA=="), nil, 404, protocol.CodeNoStreamForSubject},
		{"payload over NATS max payload, raw", srv, "/v1/data/subject/s.a?encoding=raw", tooBig, nil, 413, protocol.CodePayloadTooLarge},
		{"payload over NATS max payload, base64", srv, "/v1/data/subject/s.a", bytes.Repeat([]byte("AAAA"), len(tooBig)/3+1), nil, 413, protocol.CodePayloadTooLarge},
		{"body over MaxBodyBytes", limited, "/v1/data/subject/s.a", bytes.Repeat([]byte("AAAA"), 300), nil, 413, protocol.CodeBodyTooLarge},
		{"bad base64", srv, "/v1/data/subject/s.a", []byte("not base64!"), nil, 400, protocol.CodeBadRequest},
		{"raw bytes sent without saying so", srv, "/v1/data/subject/s.a", []byte{0xff, 0x00, 0x01}, http.Header{"Content-Type": {"application/octet-stream"}}, 400, protocol.CodeBadRequest},
		{"wildcard subject", srv, "/v1/data/subject/s.*", []byte("AA=="), nil, 400, protocol.CodeInvalidSubject},
		{"empty token", srv, "/v1/data/subject/s..a", []byte("AA=="), nil, 400, protocol.CodeInvalidSubject},
		{"unknown encoding", srv, "/v1/data/subject/s.a?encoding=hex", []byte("00"), nil, 400, protocol.CodeBadRequest},
		{"conflicting encodings", srv, "/v1/data/subject/s.a?encoding=raw", []byte("AA=="), http.Header{"Httpmq-Body-Encoding": {"base64"}}, 400, protocol.CodeBadRequest},
		{"reserved header", srv, "/v1/data/subject/s.a", []byte("AA=="), http.Header{"Httpmq-Header-Nats-Rollup": {"all"}}, 400, protocol.CodeReservedHeader},
		{"reserved subject", srv, "/v1/data/subject/$JS.API.STREAM.DELETE.S", nil, nil, 400, protocol.CodeReservedSubject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.srv.do(t, http.MethodPost, c.path, c.body, c.header)
			assert.Equal(t, c.status, a.Status, "%+v", a.Error)
			assert.Equal(t, c.code, a.code(), "%+v", a.Error)
		})
	}
}

// TestSubscribeErrors: errors before the stream starts answer the
// envelope with a status, not a stream.
func TestSubscribeErrors(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2c", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s.>")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "push", Push: true, DeliverGroup: "g", FilterSubjects: []string{"s.a"}})
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "pull", FilterSubjects: []string{"s.>"}})
	cases := []struct {
		name   string
		path   string
		status int
		code   protocol.Code
	}{
		{"unknown stream", "/v1/data/stream/nope/consumer/push", 404, protocol.CodeStreamNotFound},
		{"unknown consumer", "/v1/data/stream/S/consumer/nope", 404, protocol.CodeConsumerNotFound},
		{"max_msg_inflight not a number", "/v1/data/stream/S/consumer/pull?max_msg_inflight=many", 400, protocol.CodeBadRequest},
		{"max_msg_inflight zero", "/v1/data/stream/S/consumer/pull?max_msg_inflight=0", 400, protocol.CodeBadRequest},
		{"parameter twice", "/v1/data/stream/S/consumer/pull?subject_name=s.a&subject_name=s.b", 400, protocol.CodeBadRequest},
		{"invalid subject", "/v1/data/stream/S/consumer/pull?subject_name=s..a", 400, protocol.CodeInvalidSubject},
		{"delivery group mismatch", "/v1/data/stream/S/consumer/push?delivery_group=other", 409, protocol.CodeDeliverGroupMismatch},
		{"delivery group on a pull consumer", "/v1/data/stream/S/consumer/pull?delivery_group=g", 409, protocol.CodeDeliverGroupMismatch},
		{"subject narrower than the filter", "/v1/data/stream/S/consumer/pull?subject_name=s.a", 409, protocol.CodeFilterMismatch},
		{"subject outside the filter", "/v1/data/stream/S/consumer/push?subject_name=s.b", 409, protocol.CodeFilterMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub, a := srv.trySubscribe(t, c.path, nil)
			require.Nil(t, sub)
			assert.Equal(t, c.status, a.Status, "%+v", a.Error)
			assert.Equal(t, c.code, a.code(), "%+v", a.Error)
			assert.NotEmpty(t, a.RequestID)
		})
	}
	assert.Equal(t, 0, srv.Handler.ActiveSubscriptions())
}

// TestAckErrors: an ack succeeds only when JetStream confirmed it.
func TestAckErrors(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2-tls", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	publishN(t, env.Bridge, "s", 1)
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
	d := sub.next(t)
	seq := map[string]any{"consumer": d.Sequence.Consumer, "stream": d.Sequence.Stream}
	with := func(k string, v any) map[string]any {
		m := map[string]any{k: v}
		for k, v := range seq {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name     string
		route    string
		consumer string
		body     any
		status   int
		code     protocol.Code
	}{
		{"never delivered", "ack", "c", map[string]any{"consumer": 5, "stream": 9}, 409, protocol.CodeAckNotPending},
		{"unknown consumer", "ack", "nope", seq, 404, protocol.CodeConsumerNotFound},
		{"sequences missing", "ack", "c", map[string]any{}, 400, protocol.CodeBadRequest},
		{"unknown field", "ack", "c", with("sequence", 1), 400, protocol.CodeBadRequest},
		{"unknown type", "ack", "c", with("type", "maybe"), 400, protocol.CodeBadRequest},
		{"type not matching the route", "term", "c", with("type", "nak"), 400, protocol.CodeBadRequest},
		{"delay on ack", "ack", "c", with("delay", 5), 400, protocol.CodeBadRequest},
		{"negative delay", "nak", "c", with("delay", -5), 400, protocol.CodeBadRequest},
		{"bad delay", "nak", "c", with("delay", "soon"), 400, protocol.CodeBadRequest},
		{"reason on nak", "nak", "c", with("reason", "x"), 400, protocol.CodeBadRequest},
		{"not JSON", "ack", "c", "consumer=1", 400, protocol.CodeBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := srv.ack(t, c.route, "S", c.consumer, c.body)
			assert.Equal(t, c.status, a.Status, "%+v", a.Error)
			assert.Equal(t, c.code, a.code(), "%+v", a.Error)
		})
	}
	// None of those touched the message.
	srv.ackOK(t, d)
	a := srv.ack(t, "ack", "S", "c", seq)
	assert.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
	assert.True(t, a.Duplicate, "the same ack again is a retry")
	a = srv.ack(t, "nak", "S", "c", seq)
	assert.Equal(t, protocol.CodeAckNotPending, a.code(), "a nak after the ack does not count")
}

// TestRoutes: health, unknown routes and wrong methods answer JSON.
func TestRoutes(t *testing.T) {
	t.Parallel()
	_, srv := newDataplane(t, "h2-tls", dataplane.Options{})
	cases := []struct {
		name, method, path string
		status             int
		code               protocol.Code
	}{
		{"alive", "GET", "/v1/data/alive", 200, ""},
		{"ready", "GET", "/v1/data/ready", 200, ""},
		{"unknown route", "GET", "/v1/data/nothing", 404, protocol.CodeNotFound},
		{"trailing slash", "POST", "/v1/data/subject/s/", 404, protocol.CodeNotFound},
		{"wrong method on publish", "DELETE", "/v1/data/subject/s", 405, protocol.CodeMethodNotAllowed},
		{"wrong method on subscribe", "PUT", "/v1/data/stream/S/consumer/c", 405, protocol.CodeMethodNotAllowed},
		{"GET on ack", "GET", "/v1/data/stream/S/consumer/c/ack", 405, protocol.CodeMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := srv.do(t, c.method, c.path, nil, nil)
			assert.Equal(t, c.status, a.Status)
			assert.Equal(t, c.code, a.code())
		})
	}
}

// TestNATSDown: while NATS is unreachable every route that needs it
// answers 503 within the bridge's request timeout; none hangs.
func TestNATSDown(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	env := testenv.New(t, testenv.Options{RequestTimeout: timeout})
	srv := serveBridge(t, env.Bridge, "h2c", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
	require.Equal(t, 200, srv.do(t, "GET", "/v1/data/ready", nil, nil).Status)

	env.Server.Shutdown()
	cases := []struct {
		name, method, path string
		body               string
	}{
		{"ready", "GET", "/v1/data/ready", ""},
		{"publish", "POST", "/v1/data/subject/s", "AA=="},
		{"subscribe", "GET", "/v1/data/stream/S/consumer/c", ""},
		{"ack", "POST", "/v1/data/stream/S/consumer/c/ack", `{"consumer":1,"stream":1}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			a := srv.do(t, c.method, c.path, []byte(c.body), nil)
			assert.Less(t, time.Since(start), timeout+time.Second)
			assert.Equal(t, http.StatusServiceUnavailable, a.Status, "%+v", a.Error)
			assert.Equal(t, protocol.CodeUnavailable, a.code())
			assert.True(t, a.Error.Retryable)
		})
	}
	alive := srv.do(t, "GET", "/v1/data/alive", nil, nil)
	assert.Equal(t, http.StatusOK, alive.Status)
}

// TestSSE: with Accept: text/event-stream, deliveries are "msg" events,
// heartbeats are comments and the end is an "error" event.
func TestSSE(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2-tls", dataplane.Options{Heartbeat: 50 * time.Millisecond})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true})
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", http.Header{"Accept": {"text/event-stream"}})
	assert.Equal(t, "text/event-stream", sub.resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", sub.resp.Header.Get("Cache-Control"))

	// Idle: heartbeats as comments.
	for range 3 {
		assert.Equal(t, ": heartbeat\n", string(sub.line(t)))
	}
	publishN(t, env.Bridge, "s", 1)
	var event []string
	for len(event) < 3 {
		l := string(sub.line(t))
		if strings.HasPrefix(l, ":") {
			continue
		}
		event = append(event, strings.TrimSuffix(l, "\n"))
	}
	assert.Equal(t, "id: 1.1", event[0])
	assert.Equal(t, "event: msg", event[1])
	require.True(t, strings.HasPrefix(event[2], "data: {"), event[2])
	d := decode(t, []byte(strings.TrimPrefix(event[2], "data: ")))
	require.NotNil(t, d)
	assert.Equal(t, []byte("m0"), d.B64Msg)
	assert.Equal(t, "s", d.Subject)

	require.NoError(t, env.Bridge.DeleteConsumer(testenv.Context(t), "S", "c"))
	for {
		l := string(sub.line(t))
		if strings.HasPrefix(l, ":") {
			continue
		}
		assert.Equal(t, "event: error\n", l)
		break
	}
	l := string(sub.line(t))
	assert.Contains(t, l, `"success":false`)
	assert.Contains(t, l, `"code":404,"reason":"consumer_not_found"`)
}

// TestNDJSONHeartbeat: an idle NDJSON stream carries heartbeats as JSON
// whitespace (one space each), so every line a reader splits off still
// parses as one object, as the original SDKs parse them.
func TestNDJSONHeartbeat(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{Heartbeat: 20 * time.Millisecond})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/data/stream/S/consumer/c", nil)
	require.NoError(t, err)
	resp, err := srv.Client.Do(req)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	chunks := make(chan []byte)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b := make([]byte, 4096)
			n, err := resp.Body.Read(b)
			if n > 0 {
				select {
				case chunks <- b[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	var line []byte
	read := func() {
		t.Helper()
		select {
		case c := <-chunks:
			line = append(line, c...)
		case <-time.After(10 * time.Second):
			t.Fatal("nothing read within 10s")
		}
	}
	for len(line) < 5 {
		read()
	}
	assert.Equal(t, strings.Repeat(" ", len(line)), string(line), "heartbeats are blanks")
	publishN(t, env.Bridge, "s", 1)
	for !bytes.HasSuffix(line, []byte("\n")) {
		read()
	}
	var got dataplane.Delivery
	require.NoError(t, json.Unmarshal(line, &got), "the line with its leading blanks is one JSON text")
	assert.Equal(t, []byte("m0"), got.B64Msg)
}
