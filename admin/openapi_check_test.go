package admin_test

import (
	"net/http"
	"testing"

	"github.com/httpmq/httpmq/internal/openapitest"
)

// spec is docs/openapi.yaml under the shared contract checker
// (internal/openapitest).
type spec struct{ *openapitest.Spec }

func mustSpec(t testing.TB) *spec {
	t.Helper()
	return &spec{openapitest.MustLoad(t, "../docs/openapi.yaml", openapitest.Options{
		ErrorSchema:     "/components/schemas/ErrorResponse",
		RequestIDHeader: "Httpmq-Request-ID",
	})}
}

// check validates one exchange of env.do, whose request bodies are JSON,
// and returns its operation ("METHOD template"), or "" for an unknown
// route or method; see [openapitest.Spec.Check].
func (s *spec) check(method, path string, reqBody []byte, status int, header http.Header, body []byte) (string, error) {
	reqHeader := http.Header{}
	if len(reqBody) > 0 {
		reqHeader.Set("Content-Type", "application/json")
	}
	return s.Check(openapitest.Exchange{
		Method: method, Path: path, RequestHeader: reqHeader, RequestBody: reqBody,
		Status: status, Header: header, Body: body,
	})
}
