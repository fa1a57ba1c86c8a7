package openapitest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/openapitest"
)

func mini(t *testing.T) *openapitest.Spec {
	return openapitest.MustLoad(t, "testdata/mini.yaml", openapitest.Options{
		ErrorSchema: "/components/schemas/Error", RequestIDHeader: "X-Request-ID",
	})
}

func header(ct string) http.Header {
	return http.Header{"Content-Type": {ct}, "X-Request-Id": {"r"}}
}

// The checker catches what it is for, and accepts what conforms.
func TestCheck(t *testing.T) {
	s := mini(t)
	check := func(x openapitest.Exchange) (string, error) {
		if x.Header == nil {
			x.Header = header("application/json")
		}
		if x.RequestHeader == nil {
			x.RequestHeader = http.Header{"Content-Type": {"application/json"}}
		}
		return s.Check(x)
	}
	get := func(status int, body string) openapitest.Exchange {
		return openapitest.Exchange{Method: "GET", Path: "/v1/thing/a", Status: status, Body: []byte(body)}
	}
	op, err := check(get(200, `{"request_id":"r","name":"a"}`))
	require.NoError(t, err)
	assert.Equal(t, "GET /v1/thing/{name}", op)
	_, err = check(get(404, `{"request_id":"r","error":{"code":404,"reason":"x"}}`))
	assert.NoError(t, err, "response $ref")
	_, err = check(get(404, `{"request_id":"r","error":{"code":400,"reason":"x"}}`))
	assert.Error(t, err, "error.code is not the status")
	_, err = check(get(404, `{"request_id":"r","error":{"code":"404","reason":"x"}}`))
	assert.Error(t, err, "error.code is a string")

	_, err = check(get(201, `{"request_id":"r","name":"a"}`))
	assert.Error(t, err, "undocumented status")
	_, err = check(get(200, `{"request_id":"r","name":"a","extra":1}`))
	assert.Error(t, err, "undocumented field")
	_, err = check(get(200, `{"request_id":"other","name":"a"}`))
	assert.Error(t, err, "request id mismatch")
	x := get(200, `{"request_id":"r","name":"a"}`)
	x.Header = header("text/plain")
	_, err = check(x)
	assert.Error(t, err, "undocumented content type")

	stream := func(body, reqBody string) openapitest.Exchange {
		return openapitest.Exchange{Method: "POST", Path: "/v1/thing/a", Status: 200,
			Header: header("application/x-ndjson"), Body: []byte(body), RequestBody: []byte(reqBody)}
	}
	_, err = check(stream("  {\"request_id\":\"r\",\"name\":\"a\"}\n {\"request_id\":\"r\",\"name\":\"b\"}\n", `{"n":1}`))
	assert.NoError(t, err, "NDJSON lines with heartbeat blanks; request body $ref")
	_, err = check(stream("{\"request_id\":\"r\",\"name\":\"a\"}\n{\"request_id\":\"r\"}\n", `{"n":1}`))
	assert.Error(t, err, "a bad second line")
	_, err = check(stream(`{"request_id":"r","name":"a"}`, `{"n":"one"}`))
	assert.Error(t, err, "accepted request body the schema refuses")
	x = stream(`{"request_id":"r","name":"a"}`, `n=1`)
	x.RequestHeader = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	_, err = check(x)
	assert.Error(t, err, "accepted undocumented request media type")

	unrouted := func(method, path string, status int, reason string, h http.Header) error {
		if h == nil {
			h = header("application/json")
		}
		_, err := check(openapitest.Exchange{Method: method, Path: path, Status: status, Header: h,
			Body: fmt.Appendf(nil, `{"request_id":"r","error":{"code":%d,"reason":%q}}`, status, reason)})
		return err
	}
	assert.NoError(t, unrouted("GET", "/v1/other", 404, "not_found", nil))
	assert.Error(t, unrouted("GET", "/v1/other", 200, "", nil), "unknown route succeeding")
	allow := header("application/json")
	allow.Set("Allow", "GET, POST")
	assert.NoError(t, unrouted("DELETE", "/v1/thing/a", 405, "method_not_allowed", allow))
	assert.Error(t, unrouted("DELETE", "/v1/thing/a", 405, "method_not_allowed", nil), "405 without Allow")
}

func TestOperationsAndCoverage(t *testing.T) {
	s := mini(t)
	assert.Equal(t, []string{"GET /v1/thing/{name}", "POST /v1/thing/{name}"}, s.Operations())
	var c openapitest.Coverage
	c.Record("GET /v1/thing/{name}", 404)
	c.Record("", 200)
	assert.True(t, c.Answered("GET /v1/thing/{name}", 404))
	assert.Equal(t, s.Operations(), c.Missing(s))
	c.Record("GET /v1/thing/{name}", 200)
	assert.Equal(t, []string{"POST /v1/thing/{name}"}, c.Missing(s))
}
