package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/julienschmidt/httprouter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// server is a router with a few test routes behind Wrap.
func server(t *testing.T, gate *auth.Gate) (http.Handler, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := httpx.NewRouter()
	r.GET("/payload", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.OK(w, r, map[string]any{"stream": map[string]int{"n": 1}})
	})
	r.POST("/created", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.Reply(w, r, http.StatusCreated, struct {
			ID string `json:"id"`
		}{"x"})
	})
	r.GET("/empty", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { httpx.OK(w, r, struct{}{}) })
	r.GET("/not-object", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { httpx.OK(w, r, []int{1}) })
	r.GET("/fail", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.WriteError(w, r, fmt.Errorf("%w: no such stream", bridge.ErrStreamNotFound))
	})
	r.GET("/internal", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.WriteError(w, r, errors.New("secret: database password wrong"))
	})
	r.GET("/panic", func(http.ResponseWriter, *http.Request, httprouter.Params) { panic("boom") })
	r.GET("/panic-late", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.OK(w, r, nil)
		panic("too late")
	})
	r.GET("/abort", func(http.ResponseWriter, *http.Request, httprouter.Params) { panic(http.ErrAbortHandler) })
	r.GET("/who", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		httpx.OK(w, r, map[string]string{"who": auth.IdentityFrom(r.Context()).Subject})
	})
	r.GET("/stream", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("a"))
		require.NoError(t, http.NewResponseController(w).Flush())
		w.(http.Flusher).Flush()
	})
	return httpx.Wrap(r, httpx.Options{Logger: log, Gate: gate}), logs
}

func call(h http.Handler, method, path string, headers ...string) (*httptest.ResponseRecorder, map[string]any) {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

// reason returns error.reason of an error answer, after checking that
// error.code is the answer's HTTP status as an integer.
func reason(t *testing.T, rec *httptest.ResponseRecorder, body map[string]any) string {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	assert.Equal(t, float64(rec.Code), e["code"], "error.code is the HTTP status")
	r, _ := e["reason"].(string)
	return r
}

func TestEnvelope(t *testing.T) {
	h, logs := server(t, nil)

	rec, body := call(h, "GET", "/payload", "Httpmq-Request-ID", "req-1")
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "req-1", rec.Header().Get("Httpmq-Request-ID"))
	assert.Equal(t, `{"success":true,"request_id":"req-1","stream":{"n":1}}`+"\n", rec.Body.String())
	assert.Equal(t, true, body["success"])

	rec, body = call(h, "POST", "/created")
	assert.Equal(t, 201, rec.Code)
	assert.Equal(t, "x", body["id"])
	assert.Equal(t, rec.Header().Get("Httpmq-Request-ID"), body["request_id"])

	rec, _ = call(h, "GET", "/empty", "Httpmq-Request-ID", "e")
	assert.Equal(t, `{"success":true,"request_id":"e"}`+"\n", rec.Body.String())

	rec, body = call(h, "GET", "/not-object")
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, "internal", reason(t, rec, body))

	rec, body = call(h, "GET", "/fail", "Httpmq-Request-ID", "f")
	assert.Equal(t, 404, rec.Code)
	assert.Equal(t, map[string]any{"success": false, "request_id": "f", "error": map[string]any{
		"code": float64(404), "reason": "stream_not_found", "message": "stream not found", "detail": "stream not found: no such stream"}}, body)
	assert.Equal(t, `{"success":false,"request_id":"f","error":{"code":404,"reason":"stream_not_found","message":"stream not found","detail":"stream not found: no such stream"}}`+"\n",
		rec.Body.String(), "code (the status) comes first, then the reason")

	rec, body = call(h, "GET", "/internal", "Httpmq-Request-ID", "i")
	assert.Equal(t, 500, rec.Code)
	assert.NotContains(t, rec.Body.String(), "secret")
	assert.Equal(t, "internal error", body["error"].(map[string]any)["message"])
	assert.Regexp(t, `level=ERROR msg="internal error" request_id=i err="secret: database password wrong"`, logs.String())
}

func TestAccessLog(t *testing.T) {
	h, logs := server(t, nil)
	call(h, "GET", "/payload", "Httpmq-Request-ID", "a1")
	call(h, "GET", "/fail", "Httpmq-Request-ID", "a2")
	call(h, "GET", "/internal", "Httpmq-Request-ID", "a3")
	out := logs.String()
	assert.Regexp(t, `level=DEBUG msg="http request" request_id=a1 method=GET path=/payload status=200 bytes=\d+ duration=`, out)
	assert.Regexp(t, `level=INFO msg="http request" request_id=a2 method=GET path=/fail status=404`, out)
	assert.Regexp(t, `level=WARN msg="http request" request_id=a3 method=GET path=/internal status=500`, out)
}

func TestRouterErrors(t *testing.T) {
	h, logs := server(t, nil)

	rec, body := call(h, "GET", "/nowhere")
	assert.Equal(t, 404, rec.Code)
	assert.Equal(t, "not_found", reason(t, rec, body))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))

	rec, _ = call(h, "GET", "/payload/")
	assert.Equal(t, 404, rec.Code, "no trailing-slash redirect")
	rec, _ = call(h, "GET", "/PAYLOAD")
	assert.Equal(t, 404, rec.Code, "no case redirect")

	rec, body = call(h, "DELETE", "/payload")
	assert.Equal(t, 405, rec.Code)
	assert.Equal(t, "GET, OPTIONS", rec.Header().Get("Allow"))
	assert.Equal(t, "method_not_allowed", reason(t, rec, body))

	rec, _ = call(h, "OPTIONS", "/payload")
	assert.Equal(t, 204, rec.Code)
	assert.Equal(t, "GET, OPTIONS", rec.Header().Get("Allow"))

	rec, body = call(h, "GET", "/panic", "Httpmq-Request-ID", "p")
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, "internal", reason(t, rec, body))
	assert.Contains(t, logs.String(), `msg="panic in handler" request_id=p panic=boom`)

	rec, body = call(h, "GET", "/panic-late")
	assert.Equal(t, 200, rec.Code, "a panic after the answer started does not write a second one")
	assert.Equal(t, true, body["success"])

	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { call(h, "GET", "/abort") })
}

func TestRequestIDs(t *testing.T) {
	h, _ := server(t, nil)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tt := range []struct {
		given string
		kept  bool
	}{
		{"", false}, {"abc", true}, {"A-Z_a.z~0:9/+=@", true}, {strings.Repeat("x", httpx.MaxRequestIDLen), true},
		{strings.Repeat("x", httpx.MaxRequestIDLen+1), false}, {"a b", false}, {"a\nb", false}, {"ä", false}, {"<script>", false},
	} {
		rec, body := call(h, "GET", "/payload", "Httpmq-Request-ID", tt.given)
		id := rec.Header().Get("Httpmq-Request-ID")
		assert.Equal(t, id, body["request_id"])
		if tt.kept {
			assert.Equal(t, tt.given, id)
		} else {
			assert.Regexp(t, uuid, id, "given %q", tt.given)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		id := httpx.NewRequestID()
		require.Regexp(t, uuid, id)
		require.False(t, seen[id])
		seen[id] = true
	}
	ctx := httpx.WithRequestID(context.Background(), "x")
	assert.Equal(t, "x", httpx.RequestID(ctx))
	assert.Empty(t, httpx.RequestID(context.Background()))
}

type denyAll struct{}

func (denyAll) Authenticate(*http.Request) (auth.Identity, error) {
	return auth.Identity{}, fmt.Errorf("%w: no credentials", auth.ErrUnauthenticated)
}

type brokenAuthn struct{}

func (brokenAuthn) Authenticate(*http.Request) (auth.Identity, error) {
	return auth.Identity{}, errors.New("token service said something odd")
}

type named struct{}

func (named) Authenticate(r *http.Request) (auth.Identity, error) {
	return auth.Identity{Subject: r.Header.Get("X-User")}, nil
}

func TestIdentity(t *testing.T) {
	h, _ := server(t, &auth.Gate{Authn: denyAll{}})
	rec, body := call(h, "GET", "/who")
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, "unauthorized", reason(t, rec, body))

	h, _ = server(t, &auth.Gate{Authn: brokenAuthn{}})
	rec, _ = call(h, "GET", "/who")
	assert.Equal(t, 401, rec.Code, "an authenticator's failure is never a 500")

	h, _ = server(t, &auth.Gate{Authn: named{}})
	_, body = call(h, "GET", "/who", "X-User", "ada")
	assert.Equal(t, "ada", body["who"])

	h, _ = server(t, nil)
	_, body = call(h, "GET", "/who")
	assert.Equal(t, "anonymous", body["who"])
}

func TestStreamingThroughWrap(t *testing.T) {
	h, logs := server(t, nil)
	rec, _ := call(h, "GET", "/stream")
	assert.True(t, rec.Flushed, "Flush reaches the underlying writer")
	assert.Equal(t, "a", rec.Body.String())
	assert.Contains(t, logs.String(), "path=/stream status=200 bytes=1")
}
