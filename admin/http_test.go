package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

func TestRouting(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s","subjects":["s"]}`)

	for _, path := range []string{"/", "/v1/admin", "/v1/admin/streams", "/v1/admin/stream/", "/V1/admin/stream",
		"/v1/admin/stream/s/consumer/c/extra", "/v1/data/subject/x"} {
		r := e.fails(t, 404, "not_found", http.MethodGet, path, "")
		assert.Contains(t, r.get("error.detail"), path)
	}
	for _, tt := range []struct{ method, path, allow string }{
		{http.MethodPatch, "/v1/admin/stream", "GET, OPTIONS, POST"},
		{http.MethodPost, "/v1/admin/stream/s", "DELETE, GET, OPTIONS, PUT"},
		{http.MethodGet, "/v1/admin/stream/s/subject", "OPTIONS, PUT"},
		{http.MethodDelete, "/v1/admin/alive", "GET, OPTIONS"},
	} {
		r := e.fails(t, 405, "method_not_allowed", tt.method, tt.path, "")
		assert.Equal(t, tt.allow, r.Header.Get("Allow"), "%s %s", tt.method, tt.path)
	}
	head := httptest.NewRecorder()
	e.h.ServeHTTP(head, httptest.NewRequest(http.MethodHead, "/v1/admin/ready", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, head.Code)
	assert.Equal(t, "GET, OPTIONS", head.Header().Get("Allow"))
	assert.Empty(t, head.Body.Bytes(), "HEAD answers carry no body")

	r := e.do(t, http.MethodOptions, "/v1/admin/stream/s/consumer", "")
	assert.Equal(t, http.StatusNoContent, r.Status)
	assert.Equal(t, "GET, OPTIONS, POST", r.Header.Get("Allow"))
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	for _, tt := range []struct {
		name, given string
		kept        bool
	}{
		{"none", "", false},
		{"uuid", "0b6d9d22-1bd6-4d4a-9f9b-3c7b8a7f0c11", true},
		{"trace-like", "web:1234/req.5_a+b=c@d~e", true},
		{"128 chars", strings.Repeat("a", 128), true},
		{"129 chars", strings.Repeat("a", 129), false},
		{"space", "a b", false},
		{"quote", `a"b`, false},
		{"non-ASCII", "naïve", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v1/admin/alive", "/v1/admin/stream", "/v1/admin/nope"} {
				var r *resp
				if tt.given == "" {
					r = e.do(t, http.MethodGet, path, "")
				} else {
					r = e.do(t, http.MethodGet, path, "", "Httpmq-Request-ID", tt.given)
				}
				id := r.Header.Get("Httpmq-Request-ID")
				assert.Equal(t, id, r.Body["request_id"])
				if tt.kept {
					assert.Equal(t, tt.given, id)
				} else {
					assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
				}
			}
		})
	}
	a := e.ok(t, http.MethodGet, "/v1/admin/alive", "").Body["request_id"]
	b := e.ok(t, http.MethodGet, "/v1/admin/alive", "").Body["request_id"]
	assert.NotEqual(t, a, b, "generated ids differ")
}

// tokenAuth accepts "Authorization: Bearer <role>" with role reader or
// writer; readers may not write.
type tokenAuth struct{}

func (tokenAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	switch role := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); role {
	case "reader", "writer":
		return auth.Identity{Subject: role}, nil
	}
	return auth.Identity{}, fmt.Errorf("%w: no valid bearer token", auth.ErrUnauthenticated)
}

func (tokenAuth) Authorize(_ context.Context, who auth.Identity, what auth.Action) error {
	if what.Kind == auth.AdminWrite && who.Subject != "writer" {
		return fmt.Errorf("%w: %s may not %s", auth.ErrForbidden, who.Subject, what)
	}
	return nil
}

// spyAuthz records the actions it is asked about.
type spyAuthz struct{ actions chan auth.Action }

func (s spyAuthz) Authorize(_ context.Context, _ auth.Identity, what auth.Action) error {
	s.actions <- what
	return nil
}

func TestAuth(t *testing.T) {
	e := newEnv(t, admin.Options{Gate: &auth.Gate{Authn: tokenAuth{}, Authz: tokenAuth{}}}, testenv.Options{})
	const stream = `{"name":"s","subjects":["s"]}`

	e.ok(t, http.MethodGet, "/v1/admin/alive", "")
	e.ok(t, http.MethodGet, "/v1/admin/ready", "")
	e.fails(t, 401, "unauthorized", http.MethodGet, "/v1/admin/stream", "")
	e.fails(t, 401, "unauthorized", http.MethodPost, "/v1/admin/stream", stream, "Authorization", "Bearer nobody")
	e.fails(t, 401, "unauthorized", http.MethodGet, "/v1/admin/nope", "")
	e.fails(t, 403, "forbidden", http.MethodPost, "/v1/admin/stream", stream, "Authorization", "Bearer reader")
	e.ok(t, http.MethodPost, "/v1/admin/stream", stream, "Authorization", "Bearer writer")
	e.ok(t, http.MethodGet, "/v1/admin/stream/s", "", "Authorization", "Bearer reader")
	e.fails(t, 403, "forbidden", http.MethodDelete, "/v1/admin/stream/s", "", "Authorization", "Bearer reader")
	e.fails(t, 403, "forbidden", http.MethodPost, "/v1/admin/stream/s/purge", "", "Authorization", "Bearer reader")
}

// Every route asks the gate, with the stream and consumer it concerns;
// routes that set a stream's subjects also ask about each subject.
func TestEveryRouteChecksTheGate(t *testing.T) {
	spy := spyAuthz{actions: make(chan auth.Action, 8)}
	e := newEnv(t, admin.Options{Gate: &auth.Gate{Authz: spy}}, testenv.Options{})
	write := func(stream, consumer string) auth.Action {
		return auth.Action{Kind: auth.AdminWrite, Stream: stream, Consumer: consumer}
	}
	subject := func(s string) auth.Action { return auth.Action{Kind: auth.AdminWrite, Stream: "s", Subject: s} }
	for _, tt := range []struct {
		method, path, body string
		want               []auth.Action
	}{
		{"POST", "/v1/admin/stream", `{"name":"s","subjects":["s.>"]}`, []auth.Action{write("s", ""), subject("s.>")}},
		{"GET", "/v1/admin/stream", "", []auth.Action{{Kind: auth.AdminRead}}},
		{"GET", "/v1/admin/stream/s", "", []auth.Action{{Kind: auth.AdminRead, Stream: "s"}}},
		{"PUT", "/v1/admin/stream/s", `{"description":"x"}`, []auth.Action{write("s", "")}},
		{"PUT", "/v1/admin/stream/s", `{"subjects":["s.>","t"]}`, []auth.Action{write("s", ""), subject("s.>"), subject("t")}},
		{"PUT", "/v1/admin/stream/s/subject", `{"subjects":["s.>"]}`, []auth.Action{write("s", ""), subject("s.>")}},
		{"PUT", "/v1/admin/stream/s/limit", `{"max_msgs":5}`, []auth.Action{write("s", "")}},
		{"POST", "/v1/admin/stream/s/purge", "", []auth.Action{write("s", "")}},
		{"GET", "/v1/admin/stream/s/message/1", "", []auth.Action{{Kind: auth.AdminRead, Stream: "s"}}},
		{"POST", "/v1/admin/stream/s/consumer", `{"name":"c","mode":"pull"}`, []auth.Action{write("s", "c")}},
		{"GET", "/v1/admin/stream/s/consumer", "", []auth.Action{{Kind: auth.AdminRead, Stream: "s"}}},
		{"GET", "/v1/admin/stream/s/consumer/c", "", []auth.Action{{Kind: auth.AdminRead, Stream: "s", Consumer: "c"}}},
		{"DELETE", "/v1/admin/stream/s/consumer/c", "", []auth.Action{write("s", "c")}},
		{"DELETE", "/v1/admin/stream/s", "", []auth.Action{write("s", "")}},
	} {
		e.do(t, tt.method, tt.path, tt.body)
		var got []auth.Action
		for len(spy.actions) > 0 {
			got = append(got, <-spy.actions)
		}
		assert.Equal(t, tt.want, got, "%s %s", tt.method, tt.path)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, admin.Options{MaxBodyBytes: 64}, testenv.Options{})
	small := `{"name":"s","subjects":["s"]}`
	big := `{"name":"s","subjects":["s"],"description":"` + strings.Repeat("z", 64) + `"}`
	e.ok(t, http.MethodPost, "/v1/admin/stream", small)
	r := e.fails(t, 413, "body_too_large", http.MethodPost, "/v1/admin/stream", big)
	assert.Contains(t, r.get("error.detail"), "64")
	for _, path := range []string{"/v1/admin/stream/s", "/v1/admin/stream/s/limit", "/v1/admin/stream/s/subject"} {
		e.fails(t, 413, "body_too_large", http.MethodPut, path, big)
	}
	e.fails(t, 413, "body_too_large", http.MethodPost, "/v1/admin/stream/s/purge", big)
	e.fails(t, 413, "body_too_large", http.MethodPost, "/v1/admin/stream/s/consumer", big)
}

func TestNoBridge(t *testing.T) {
	h := admin.New(admin.Options{Logger: testenv.Logger()})
	e := &env{h: h, spec: mustSpec(t), seen: map[string]bool{}}
	e.ok(t, http.MethodGet, "/v1/admin/alive", "")
	e.fails(t, 503, "unavailable", http.MethodGet, "/v1/admin/ready", "")
	r := e.fails(t, 503, "unavailable", http.MethodGet, "/v1/admin/stream", "")
	require.Equal(t, true, r.get("error.retryable"))
}
