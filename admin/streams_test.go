package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
)

func TestCreateStream(t *testing.T) {
	e := newEnv(t, admin.Options{MaxBodyBytes: 4096}, testenv.Options{})
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"dash and underscore in name", `{"name":"test-stream_1","subjects":["orders.>"]}`, 200, ""},
		{"wildcards", `{"name":"wild","subjects":["a.*.c","b.>"]}`, 200, ""},
		{"no subjects captures own name", `{"name":"selfish"}`, 200, ""},
		{"every extension", `{"name":"ext","subjects":["ext.>"],"description":"d","storage":"memory",
			"retention":"interest","discard":"new","replicas":1,"duplicate_window":1000000000,
			"max_consumers":10,"max_msgs":100,"max_bytes":1048576,"max_age":60000000000,
			"max_msgs_per_subject":5,"max_msg_size":1024}`, 200, ""},
		{"workqueue", `{"name":"wq","subjects":["wq.>"],"retention":"workqueue"}`, 200, ""},
		{"limits of -1", `{"name":"minus","subjects":["minus"],"max_msgs":-1,"max_bytes":-1,"max_consumers":-1}`, 200, ""},

		{"dot in name", `{"name":"a.b","subjects":["x"]}`, 400, "invalid_name"},
		{"star in name", `{"name":"a*","subjects":["x"]}`, 400, "invalid_name"},
		{"missing name", `{"subjects":["x"]}`, 400, "bad_request"},
		{"empty token", `{"name":"s","subjects":["a..b"]}`, 400, "invalid_subject"},
		{"> not last", `{"name":"s","subjects":["a.>.b"]}`, 400, "invalid_subject"},
		{"partial wildcard", `{"name":"s","subjects":["a.b*"]}`, 400, "invalid_subject"},
		{"unknown storage", `{"name":"s","subjects":["x"],"storage":"tape"}`, 400, "bad_request"},
		{"unknown retention", `{"name":"s","subjects":["x"],"retention":"forever"}`, 400, "bad_request"},
		{"unknown discard", `{"name":"s","subjects":["x"],"discard":"middle"}`, 400, "bad_request"},
		{"negative max_age", `{"name":"s","subjects":["x"],"max_age":-5}`, 400, "bad_request"},
		{"negative duplicate_window", `{"name":"s","subjects":["x"],"duplicate_window":-5}`, 400, "bad_request"},
		{"max_msgs below -1", `{"name":"s","subjects":["x"],"max_msgs":-2}`, 400, "bad_request"},
		{"duplicate window above max_age", `{"name":"s","subjects":["x"],"max_age":1000000000,"duplicate_window":5000000000}`, 400, "bad_request"},
		{"too many replicas", `{"name":"s","subjects":["x"],"replicas":7}`, 400, "bad_request"},
		{"max_msg_size overflows int32", `{"name":"s","subjects":["x"],"max_msg_size":4294967296}`, 400, "bad_request"},
		{"wrong type", `{"name":"s","subjects":"x"}`, 400, "bad_request"},
		{"unknown field", `{"name":"s","subjects":["x"],"max_mesages":3}`, 400, "bad_request"},
		{"malformed", `{"name":"s",`, 400, "bad_request"},
		{"syntax error", `{"name" "s"}`, 400, "bad_request"},
		{"trailing data", `{"name":"s","subjects":["x"]} {}`, 400, "bad_request"},
		{"not an object", `["s"]`, 400, "bad_request"},
		{"empty body", ``, 400, "bad_request"},
		{"subjects overlap another stream", `{"name":"overlap","subjects":["orders.new"]}`, 400, "invalid_config"},
		{"body too large", `{"name":"big","subjects":["x"],"description":"` + strings.Repeat("x", 5000) + `"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == 200 {
				r := e.ok(t, http.MethodPost, "/v1/admin/stream", tt.body)
				assert.NotEmpty(t, r.get("stream.config.name"))
				return
			}
			r := e.fails(t, tt.status, tt.code, http.MethodPost, "/v1/admin/stream", tt.body)
			assert.NotEmpty(t, r.get("error.message"))
		})
	}

	t.Run("extensions are stored", func(t *testing.T) {
		r := e.ok(t, http.MethodGet, "/v1/admin/stream/ext", "")
		cfg := r.get("stream.config").(map[string]any)
		assert.Equal(t, "d", cfg["description"])
		assert.Equal(t, "memory", cfg["storage"])
		assert.Equal(t, "interest", cfg["retention"])
		assert.Equal(t, "new", cfg["discard"])
		assert.Equal(t, float64(time.Second), cfg["duplicate_window"])
		assert.Equal(t, float64(5), cfg["max_msgs_per_subject"])
		assert.Equal(t, float64(1024), cfg["max_msg_size"])
		assert.Equal(t, []any{"selfish"}, e.ok(t, http.MethodGet, "/v1/admin/stream/selfish", "").get("stream.config.subjects"))
	})

	t.Run("error detail names the position", func(t *testing.T) {
		r := e.fails(t, 400, "bad_request", http.MethodPost, "/v1/admin/stream", "{\n  \"name\": \"s\",\n  \"subjects\": 5\n}")
		assert.Contains(t, r.get("error.detail"), "subjects")
		assert.Contains(t, r.get("error.detail"), "line 3")
		r = e.fails(t, 400, "bad_request", http.MethodPost, "/v1/admin/stream", `{"name":"s","bogus":1}`)
		assert.Contains(t, r.get("error.detail"), "bogus")
	})

	t.Run("identical re-create succeeds, different conflicts", func(t *testing.T) {
		body := `{"name":"again","subjects":["again.>"],"max_age":300000000000}`
		e.ok(t, http.MethodPost, "/v1/admin/stream", body)
		e.ok(t, http.MethodPost, "/v1/admin/stream", body)
		e.fails(t, 409, "stream_exists", http.MethodPost, "/v1/admin/stream", `{"name":"again","subjects":["again.other"]}`)
	})

	t.Run("body over limit announced by Content-Length", func(t *testing.T) {
		big := `{"name":"big","subjects":["x"],"description":"` + strings.Repeat("y", 5000) + `"}`
		e.fails(t, 413, "body_too_large", http.MethodPost, "/v1/admin/stream", big, "Content-Length", fmt.Sprint(len(big)))
	})
}

func TestStreamReadUpdateDelete(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s1","subjects":["s1.a"],"max_age":600000000000}`)
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"s2","subjects":["s2.>"]}`)

	t.Run("list is keyed by name", func(t *testing.T) {
		r := e.ok(t, http.MethodGet, "/v1/admin/stream", "")
		streams := r.Body["streams"].(map[string]any)
		assert.Len(t, streams, 2)
		assert.Equal(t, "s1", r.get("streams.s1.config.name"))
		assert.Equal(t, "s2", r.get("streams.s2.config.name"))
	})
	t.Run("get", func(t *testing.T) {
		assert.Equal(t, "s1", e.ok(t, http.MethodGet, "/v1/admin/stream/s1", "").get("stream.config.name"))
		e.fails(t, 404, "stream_not_found", http.MethodGet, "/v1/admin/stream/nope", "")
		e.fails(t, 400, "invalid_name", http.MethodGet, "/v1/admin/stream/a.b", "")
	})

	t.Run("change subjects", func(t *testing.T) {
		r := e.ok(t, http.MethodPut, "/v1/admin/stream/s1/subject", `{"subjects":["s1.a","s1.b.*"]}`)
		assert.Equal(t, []any{"s1.a", "s1.b.*"}, r.get("stream.config.subjects"))
		assert.Equal(t, float64(600*time.Second), r.get("stream.config.max_age"), "other settings stay")
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s1/subject", `{"subjects":[]}`)
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s1/subject", `{}`)
		e.fails(t, 400, "invalid_subject", http.MethodPut, "/v1/admin/stream/s1/subject", `{"subjects":["a..b"]}`)
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s1/subject", `{"subject":["a"]}`)
		e.fails(t, 404, "stream_not_found", http.MethodPut, "/v1/admin/stream/nope/subject", `{"subjects":["x"]}`)
		e.fails(t, 400, "invalid_config", http.MethodPut, "/v1/admin/stream/s1/subject", `{"subjects":["s2.x"]}`)
	})

	t.Run("change limits", func(t *testing.T) {
		r := e.ok(t, http.MethodPut, "/v1/admin/stream/s1/limit", `{"max_msgs":100,"max_age":60000000000}`)
		assert.Equal(t, float64(100), r.get("stream.config.max_msgs"))
		assert.Equal(t, float64(60*time.Second), r.get("stream.config.max_age"))
		assert.Equal(t, float64(-1), r.get("stream.config.max_bytes"), "absent limits stay")
		assert.Equal(t, []any{"s1.a", "s1.b.*"}, r.get("stream.config.subjects"))
		assert.Equal(t, float64(60*time.Second), r.get("stream.config.duplicate_window"),
			"the duplicate window shrinks to max_age")

		r = e.ok(t, http.MethodPut, "/v1/admin/stream/s1/limit", `{"max_msgs":-1}`)
		assert.Equal(t, float64(-1), r.get("stream.config.max_msgs"))
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s1/limit", `{"max_age":-1}`)
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s1/limit", `{"retention":"interest"}`)
		e.fails(t, 404, "stream_not_found", http.MethodPut, "/v1/admin/stream/nope/limit", `{"max_msgs":1}`)
		e.fails(t, 400, "invalid_name", http.MethodPut, "/v1/admin/stream/a.b/limit", `{"max_msgs":1}`)
	})

	t.Run("update settings", func(t *testing.T) {
		r := e.ok(t, http.MethodPut, "/v1/admin/stream/s2", `{"description":"second","discard":"new","max_msgs":5,"duplicate_window":30000000000}`)
		assert.Equal(t, "second", r.get("stream.config.description"))
		assert.Equal(t, "new", r.get("stream.config.discard"))
		assert.Equal(t, float64(5), r.get("stream.config.max_msgs"))
		assert.Equal(t, float64(30*time.Second), r.get("stream.config.duplicate_window"))
		assert.Equal(t, []any{"s2.>"}, r.get("stream.config.subjects"))

		r = e.ok(t, http.MethodPut, "/v1/admin/stream/s2", `{"retention":"interest"}`)
		assert.Equal(t, "interest", r.get("stream.config.retention"))
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s2", `{"retention":"sometimes"}`)
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s2", `{"storage":"memory"}`)
		e.fails(t, 400, "bad_request", http.MethodPut, "/v1/admin/stream/s2", `{"subjects":[]}`)
		e.fails(t, 404, "stream_not_found", http.MethodPut, "/v1/admin/stream/nope", `{"description":"x"}`)
	})

	t.Run("delete", func(t *testing.T) {
		e.ok(t, http.MethodDelete, "/v1/admin/stream/s2", "")
		e.fails(t, 404, "stream_not_found", http.MethodDelete, "/v1/admin/stream/s2", "")
		e.fails(t, 404, "stream_not_found", http.MethodGet, "/v1/admin/stream/s2", "")
		e.fails(t, 400, "invalid_name", http.MethodDelete, "/v1/admin/stream/a.b", "")
		r := e.ok(t, http.MethodGet, "/v1/admin/stream", "")
		require.Len(t, r.Body["streams"], 1)
	})

	t.Run("empty list is an empty object", func(t *testing.T) {
		e.ok(t, http.MethodDelete, "/v1/admin/stream/s1", "")
		r := e.ok(t, http.MethodGet, "/v1/admin/stream", "")
		assert.Equal(t, map[string]any{}, r.Body["streams"])
	})
}
