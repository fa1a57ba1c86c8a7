package admin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// TestOpenAPIConformance drives every documented operation to a success
// and to its typical failures; env.do validates each answer (and each
// accepted request) against docs/openapi.yaml. It then checks that no
// documented operation was left out.
func TestOpenAPIConformance(t *testing.T) {
	e := newEnv(t, admin.Options{MaxBodyBytes: 1024}, testenv.Options{})
	big := `{"name":"x","description":"` + strings.Repeat("x", 1100) + `"}`

	e.ok(t, "GET", "/v1/admin/alive", "")
	e.ok(t, "GET", "/v1/admin/ready", "")

	e.ok(t, "POST", "/v1/admin/stream", seedStream)
	e.ok(t, "POST", "/v1/admin/stream", `{"name":"full","subjects":["full.>"],"description":"all fields","storage":"memory",
		"retention":"limits","discard":"old","replicas":1,"duplicate_window":60000000000,"max_consumers":5,"max_msgs":10,
		"max_bytes":10000,"max_age":3600000000000,"max_msgs_per_subject":3,"max_msg_size":512}`)
	e.fails(t, 400, "bad_request", "POST", "/v1/admin/stream", `{"name":"x","oops":1}`)
	e.fails(t, 409, "stream_exists", "POST", "/v1/admin/stream", `{"name":"testStream00","subjects":["other"]}`)
	e.fails(t, 413, "body_too_large", "POST", "/v1/admin/stream", big)

	e.ok(t, "GET", "/v1/admin/stream", "")
	e.ok(t, "GET", "/v1/admin/stream/testStream00", "")
	e.fails(t, 404, "stream_not_found", "GET", "/v1/admin/stream/nope", "")
	e.fails(t, 400, "invalid_name", "GET", "/v1/admin/stream/a.b", "")

	e.ok(t, "PUT", "/v1/admin/stream/full", `{"subjects":["full.>","more.*"],"description":"changed","max_msgs":20,"discard":"new"}`)
	e.fails(t, 404, "stream_not_found", "PUT", "/v1/admin/stream/nope", `{"description":"x"}`)
	e.fails(t, 413, "body_too_large", "PUT", "/v1/admin/stream/full", big)
	e.ok(t, "PUT", "/v1/admin/stream/testStream00/subject", `{"subjects":["test-subject.00","test-subject.01","test-subject.02"]}`)
	e.fails(t, 400, "invalid_subject", "PUT", "/v1/admin/stream/testStream00/subject", `{"subjects":["a..b"]}`)
	e.ok(t, "PUT", "/v1/admin/stream/testStream00/limit", `{"max_consumers":10,"max_msgs":100,"max_bytes":1000000,
		"max_age":600000000000,"max_msgs_per_subject":50,"max_msg_size":1024}`)
	e.fails(t, 404, "stream_not_found", "PUT", "/v1/admin/stream/nope/limit", `{"max_msgs":1}`)

	e.publish(t, "test-subject.01", 3)
	e.ok(t, "GET", "/v1/admin/stream/testStream00/message/1", "")
	e.fails(t, 404, "message_not_found", "GET", "/v1/admin/stream/testStream00/message/99", "")
	e.fails(t, 400, "bad_request", "GET", "/v1/admin/stream/testStream00/message/zero", "")

	e.ok(t, "POST", "/v1/admin/stream/testStream00/consumer", seedConsumer)
	e.ok(t, "POST", "/v1/admin/stream/full/consumer", `{"name":"everything","notes":"n","mode":"pull","max_inflight":2,
		"max_retry":5,"ack_wait":1000000000,"deliver_policy":"by_start_time","opt_start_time":"2024-01-01T00:00:00Z",
		"backoff":[1000000000],"filter_subjects":["full.a","full.b"],"max_waiting":4,"inactive_threshold":3600000000000,
		"replicas":1,"memory_storage":true,"headers_only":true}`)
	e.ok(t, "POST", "/v1/admin/stream/full/consumer", `{"name":"grp","mode":"push","delivery_group":"g","deliver_policy":"by_start_sequence","opt_start_seq":2}`)
	e.fails(t, 400, "bad_request", "POST", "/v1/admin/stream/full/consumer", `{"name":"c"}`)
	e.fails(t, 404, "stream_not_found", "POST", "/v1/admin/stream/nope/consumer", `{"name":"c","mode":"pull"}`)
	e.fails(t, 409, "consumer_exists", "POST", "/v1/admin/stream/testStream00/consumer", `{"name":"testConsumer00","mode":"pull"}`)
	e.fails(t, 413, "body_too_large", "POST", "/v1/admin/stream/full/consumer", big)

	e.ok(t, "GET", "/v1/admin/stream/full/consumer", "")
	e.ok(t, "GET", "/v1/admin/stream/full/consumer/everything", "")
	e.ok(t, "GET", "/v1/admin/stream/full/consumer/grp", "")
	e.ok(t, "GET", "/v1/admin/stream/testStream00/consumer/testConsumer00", "")
	e.fails(t, 404, "consumer_not_found", "GET", "/v1/admin/stream/full/consumer/nope", "")
	e.fails(t, 404, "stream_not_found", "GET", "/v1/admin/stream/nope/consumer", "")
	e.ok(t, "DELETE", "/v1/admin/stream/full/consumer/grp", "")
	e.fails(t, 404, "consumer_not_found", "DELETE", "/v1/admin/stream/full/consumer/grp", "")

	e.ok(t, "POST", "/v1/admin/stream/testStream00/purge", `{"subject":"test-subject.01","keep":1}`)
	e.ok(t, "POST", "/v1/admin/stream/testStream00/purge", "")
	e.fails(t, 404, "stream_not_found", "POST", "/v1/admin/stream/nope/purge", "")
	e.ok(t, "DELETE", "/v1/admin/stream/full", "")
	e.fails(t, 404, "stream_not_found", "DELETE", "/v1/admin/stream/full", "")

	e.fails(t, 404, "not_found", "GET", "/v1/admin/nothing", "")
	e.fails(t, 405, "method_not_allowed", "PATCH", "/v1/admin/stream/testStream00", "")

	for _, op := range mustSpec(t).Operations() {
		assert.True(t, e.seen[op], "documented operation %s was never answered with success", op)
	}
}

// The checker itself must catch what it is for.
func TestOpenAPICheckerCatchesMistakes(t *testing.T) {
	s := mustSpec(t)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Httpmq-Request-ID", "r")
	ok := func(method, path string, status int, body string) error {
		_, err := s.check(method, path, nil, status, h, []byte(body))
		return err
	}
	require.NoError(t, ok("GET", "/v1/admin/alive", 200, `{"success":true,"request_id":"r"}`))
	assert.Error(t, ok("GET", "/v1/admin/alive", 201, `{"success":true,"request_id":"r"}`), "undocumented status")
	assert.Error(t, ok("GET", "/v1/admin/alive", 200, `{"success":true,"request_id":"r","extra":1}`), "undocumented field")
	assert.Error(t, ok("GET", "/v1/admin/alive", 200, `{"success":true,"request_id":"other"}`), "request id mismatch")
	assert.Error(t, ok("GET", "/v1/admin/stream/s", 200, `{"success":true,"request_id":"r","stream":{}}`), "missing fields")
	assert.NoError(t, ok("GET", "/v1/admin/stream/s", 404, `{"success":false,"request_id":"r","error":{"code":404,"reason":"stream_not_found","message":"m"}}`))
	assert.Error(t, ok("GET", "/v1/admin/stream/s", 404, `{"success":false,"request_id":"r","error":{"code":404,"reason":"nope","message":"m"}}`), "unknown reason")
	assert.Error(t, ok("GET", "/v1/admin/stream/s", 404, `{"success":false,"request_id":"r","error":{"code":"stream_not_found","message":"m"}}`), "the old string code")
	assert.Error(t, ok("GET", "/v1/admin/stream/s", 404, `{"success":false,"request_id":"r","error":{"code":500,"reason":"stream_not_found","message":"m"}}`), "code is not the status")
	assert.Error(t, ok("GET", "/v1/admin/unknown", 200, `{"success":true,"request_id":"r"}`), "unknown route succeeding")
	_, err := s.check("GET", "/v1/admin/alive", nil, 200, http.Header{"Content-Type": {"text/plain"}}, []byte(`{}`))
	assert.Error(t, err, "wrong content type")

	req := func(body string) error {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		require.NoError(t, err)
		return s.Validate("/components/schemas/CreateStreamRequest", v)
	}
	assert.NoError(t, req(`{"name":"x","max_age":1,"retention":"limits","subjects":["a"]}`))
	assert.Error(t, req(`{"name":"x","bogus":1}`), "unknown request field")
	assert.Error(t, req(`{"name":"x","retention":"forever"}`), "unknown enum value")
	assert.Error(t, req(`{"max_age":1}`), "missing name")
}

// The error reasons the document lists are exactly protocol's codes.
func TestOpenAPIErrorCodesMatchProtocol(t *testing.T) {
	s := mustSpec(t)
	m, _ := s.At("/components/schemas/ErrorReason")
	var doc []string
	for _, c := range m["enum"].([]any) {
		doc = append(doc, c.(string))
	}
	var code []string
	for _, c := range protocol.Codes() {
		code = append(code, string(c))
	}
	slices.Sort(doc)
	slices.Sort(code)
	assert.Equal(t, code, doc)
}
