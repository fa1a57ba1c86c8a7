package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
)

// env is an embedded JetStream, a bridge and the admin handler on it.
// Every exchange through do is checked against docs/openapi.yaml.
type env struct {
	js   *testenv.Env
	h    http.Handler
	spec *spec

	mu   sync.Mutex
	seen map[string]bool // "METHOD template status"
}

func newEnv(t *testing.T, opts admin.Options, o testenv.Options) *env {
	t.Helper()
	js := testenv.New(t, o)
	opts.Bridge = js.Bridge
	if opts.Logger == nil {
		opts.Logger = testenv.Logger()
	}
	return &env{js: js, h: admin.New(opts), spec: mustSpec(t), seen: map[string]bool{}}
}

// resp is an answer, decoded.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// reason is error.reason of an error answer, or "".
func (r *resp) reason() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["reason"].(string)
	return c
}

// get returns the value at a dotted path of the body ("stream.config.name").
func (r *resp) get(path string) any {
	var cur any = r.Body
	for _, k := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	return cur
}

// do sends a request; headers are name, value pairs. A Content-Type of
// application/json is set for a body unless headers name another.
func (e *env) do(t *testing.T, method, path, body string, headers ...string) *resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(testenv.Context(t), method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := &resp{Status: rec.Code, Header: rec.Result().Header, Raw: rec.Body.Bytes()}
	if rec.Code != http.StatusNoContent {
		require.NoError(t, json.Unmarshal(r.Raw, &r.Body), "answer is not JSON: %s", r.Raw)
	}
	op, err := e.spec.check(method, req.URL.Path, []byte(body), rec.Code, r.Header, r.Raw)
	require.NoError(t, err, "%s %s: answer does not conform to docs/openapi.yaml", method, path)
	if op != "" {
		e.mu.Lock()
		e.seen[op+" "+http.StatusText(rec.Code)] = true
		e.seen[op] = e.seen[op] || rec.Code < 300
		e.mu.Unlock()
	}
	return r
}

// ok asserts a 200 success answer and returns it.
func (e *env) ok(t *testing.T, method, path, body string, headers ...string) *resp {
	t.Helper()
	r := e.do(t, method, path, body, headers...)
	require.Equal(t, http.StatusOK, r.Status, "%s %s: %s", method, path, r.Raw)
	require.Equal(t, true, r.Body["success"])
	return r
}

// fails asserts an error answer with status (also its error.code) and
// reason.
func (e *env) fails(t *testing.T, status int, reason, method, path, body string, headers ...string) *resp {
	t.Helper()
	r := e.do(t, method, path, body, headers...)
	require.Equal(t, status, r.Status, "%s %s: %s", method, path, r.Raw)
	require.Equal(t, false, r.Body["success"])
	require.Equal(t, reason, r.reason(), "%s %s: %s", method, path, r.Raw)
	require.Equal(t, float64(status), r.get("error.code"), "error.code is the status: %s", r.Raw)
	return r
}
