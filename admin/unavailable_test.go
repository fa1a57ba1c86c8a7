package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
)

// With NATS gone, readiness and every bridge-backed route answer 503
// unavailable (retryable) within their bound, and liveness stays 200.
func TestNATSDown(t *testing.T) {
	const requestTimeout, readyTimeout = 500 * time.Millisecond, 300 * time.Millisecond
	e := newEnv(t, admin.Options{ReadyTimeout: readyTimeout}, testenv.Options{RequestTimeout: requestTimeout})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s","subjects":["s"]}`)
	e.ok(t, http.MethodGet, "/v1/admin/ready", "")

	e.js.Server.Shutdown()

	bound := func(d time.Duration) time.Duration { return d + time.Second } // scheduling slack under -race
	for _, tt := range []struct {
		method, path, body string
		within             time.Duration
	}{
		{"GET", "/v1/admin/ready", "", bound(readyTimeout)},
		{"POST", "/v1/admin/stream", `{"name":"t","subjects":["t"]}`, bound(requestTimeout)},
		{"GET", "/v1/admin/stream", "", bound(requestTimeout)},
		{"GET", "/v1/admin/stream/s", "", bound(requestTimeout)},
		{"PUT", "/v1/admin/stream/s/limit", `{"max_msgs":3}`, bound(requestTimeout)},
		{"POST", "/v1/admin/stream/s/consumer", `{"name":"c","mode":"pull"}`, bound(requestTimeout)},
		{"DELETE", "/v1/admin/stream/s", "", bound(requestTimeout)},
	} {
		start := time.Now()
		r := e.fails(t, 503, "unavailable", tt.method, tt.path, tt.body)
		assert.Less(t, time.Since(start), tt.within, "%s %s", tt.method, tt.path)
		assert.Equal(t, true, r.get("error.retryable"))
	}
	e.ok(t, http.MethodGet, "/v1/admin/alive", "")
	// Client mistakes are still 400, not 503.
	e.fails(t, 400, "invalid_name", http.MethodGet, "/v1/admin/stream/a.b", "")
}
