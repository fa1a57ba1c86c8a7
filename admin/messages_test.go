package admin_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

func (e *env) publish(t *testing.T, subject string, n int) {
	t.Helper()
	for i := range n {
		_, err := e.js.Bridge.Publish(testenv.Context(t), bridge.Message{
			Subject: subject, Data: fmt.Appendf(nil, "m%d", i), Header: map[string][]string{"X-N": {fmt.Sprint(i)}},
		})
		require.NoError(t, err)
	}
}

func TestStoredMessage(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s","subjects":["s.>"]}`)
	e.publish(t, "s.a", 2)

	r := e.ok(t, http.MethodGet, "/v1/admin/stream/s/message/2", "")
	m := r.Body["message"].(map[string]any)
	assert.Equal(t, "s", m["stream"])
	assert.Equal(t, "s.a", m["subject"])
	assert.Equal(t, float64(2), m["sequence"])
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("m1")), m["b64_msg"])
	assert.Equal(t, map[string]any{"X-N": []any{"1"}}, m["headers"])
	ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)

	e.fails(t, 404, "message_not_found", http.MethodGet, "/v1/admin/stream/s/message/3", "")
	e.fails(t, 404, "stream_not_found", http.MethodGet, "/v1/admin/stream/nope/message/1", "")
	e.fails(t, 400, "invalid_name", http.MethodGet, "/v1/admin/stream/a.b/message/1", "")
	for _, seq := range []string{"0", "-1", "x", "1.5", "18446744073709551616"} {
		e.fails(t, 400, "bad_request", http.MethodGet, "/v1/admin/stream/s/message/"+seq, "")
	}
}

func TestPurgeStream(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s","subjects":["s.>"]}`)
	messages := func() float64 {
		return e.ok(t, http.MethodGet, "/v1/admin/stream/s", "").get("stream.state.messages").(float64)
	}
	e.publish(t, "s.a", 3)
	e.publish(t, "s.b", 3)

	assert.Equal(t, float64(3), e.ok(t, http.MethodPost, "/v1/admin/stream/s/purge", `{"subject":"s.a"}`).Body["purged"])
	assert.Equal(t, float64(3), messages())
	assert.Equal(t, float64(2), e.ok(t, http.MethodPost, "/v1/admin/stream/s/purge", `{"keep":1}`).Body["purged"])
	assert.Equal(t, float64(1), messages())
	e.publish(t, "s.c", 2)
	// Sequences 1-6 are gone or purged, 6 remains, 7 and 8 are new.
	assert.Equal(t, float64(1), e.ok(t, http.MethodPost, "/v1/admin/stream/s/purge", `{"sequence":7}`).Body["purged"])
	assert.Equal(t, float64(2), e.ok(t, http.MethodPost, "/v1/admin/stream/s/purge", "").Body["purged"], "no body purges all")
	assert.Equal(t, float64(0), e.ok(t, http.MethodPost, "/v1/admin/stream/s/purge", `{}`).Body["purged"])

	e.fails(t, 400, "bad_request", http.MethodPost, "/v1/admin/stream/s/purge", `{"sequence":3,"keep":1}`)
	e.fails(t, 400, "invalid_subject", http.MethodPost, "/v1/admin/stream/s/purge", `{"subject":"s..a"}`)
	e.fails(t, 400, "bad_request", http.MethodPost, "/v1/admin/stream/s/purge", `{"keep":-1}`)
	e.fails(t, 400, "bad_request", http.MethodPost, "/v1/admin/stream/s/purge", `{"everything":true}`)
	e.fails(t, 404, "stream_not_found", http.MethodPost, "/v1/admin/stream/nope/purge", "")
	e.fails(t, 400, "invalid_name", http.MethodPost, "/v1/admin/stream/a.b/purge", "")
}
