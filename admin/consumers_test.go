package admin_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
)

func TestCreateConsumer(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"orders","subjects":["orders.>"]}`)
	const path = "/v1/admin/stream/orders/consumer"
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"push", `{"name":"push1","mode":"push","max_inflight":4,"filter_subject":"orders.new"}`, 200, ""},
		{"push with group", `{"name":"grouped","mode":"push","delivery_group":"workers","max_retry":3,"ack_wait":5000000000}`, 200, ""},
		{"pull", `{"name":"pull1","mode":"pull","max_inflight":10,"notes":"a note"}`, 200, ""},
		{"pull with extensions", `{"name":"pull2","mode":"pull","deliver_policy":"by_start_sequence","opt_start_seq":5,
			"backoff":[1000000000,2000000000],"max_retry":5,"filter_subjects":["orders.a","orders.b"],"max_waiting":16,
			"inactive_threshold":3600000000000,"headers_only":true,"memory_storage":true,"replicas":1}`, 200, ""},
		{"by start time", `{"name":"since","mode":"pull","deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05Z"}`, 200, ""},
		{"deliver new", `{"name":"fresh","mode":"push","deliver_policy":"new"}`, 200, ""},
		{"dash and underscore", `{"name":"test-consumer_1","mode":"pull"}`, 200, ""},

		{"missing mode", `{"name":"c","max_inflight":1}`, 400, "bad_request"},
		{"unknown mode", `{"name":"c","mode":"poll"}`, 400, "bad_request"},
		{"missing name", `{"mode":"pull"}`, 400, "bad_request"},
		{"dot in name", `{"name":"a.b","mode":"pull"}`, 400, "invalid_name"},
		{"group on pull", `{"name":"c","mode":"pull","delivery_group":"g"}`, 400, "bad_request"},
		{"bad group name", `{"name":"c","mode":"push","delivery_group":"g.h"}`, 400, "invalid_name"},
		{"max_inflight zero", `{"name":"c","mode":"pull","max_inflight":0}`, 400, "bad_request"},
		{"max_retry below -1", `{"name":"c","mode":"pull","max_retry":-2}`, 400, "bad_request"},
		{"negative ack_wait", `{"name":"c","mode":"pull","ack_wait":-1}`, 400, "bad_request"},
		{"negative inactive_threshold", `{"name":"c","mode":"pull","inactive_threshold":-1}`, 400, "bad_request"},
		{"zero backoff", `{"name":"c","mode":"pull","backoff":[0]}`, 400, "bad_request"},
		{"bad filter", `{"name":"c","mode":"pull","filter_subject":"orders..x"}`, 400, "invalid_subject"},
		{"both filters", `{"name":"c","mode":"pull","filter_subject":"orders.a","filter_subjects":["orders.b"]}`, 400, "bad_request"},
		{"unknown deliver policy", `{"name":"c","mode":"pull","deliver_policy":"sometimes"}`, 400, "bad_request"},
		{"start sequence missing", `{"name":"c","mode":"pull","deliver_policy":"by_start_sequence"}`, 400, "bad_request"},
		{"start sequence without policy", `{"name":"c","mode":"pull","opt_start_seq":3}`, 400, "bad_request"},
		{"start time missing", `{"name":"c","mode":"pull","deliver_policy":"by_start_time"}`, 400, "bad_request"},
		{"bad start time", `{"name":"c","mode":"pull","deliver_policy":"by_start_time","opt_start_time":"yesterday"}`, 400, "bad_request"},
		{"max_waiting on push", `{"name":"c","mode":"push","max_waiting":3}`, 400, "bad_request"},
		{"unknown field", `{"name":"c","mode":"pull","max_in_flight":3}`, 400, "bad_request"},
		{"malformed", `{"name":"c",,}`, 400, "bad_request"},
		{"backoff longer than max_retry", `{"name":"c","mode":"pull","max_retry":2,"backoff":[1000000000,2000000000,3000000000]}`, 400, "invalid_config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status == 200 {
				r := e.ok(t, http.MethodPost, path, tt.body)
				assert.Equal(t, "orders", r.get("consumer.stream_name"))
				return
			}
			e.fails(t, tt.status, tt.code, http.MethodPost, path, tt.body)
		})
	}

	t.Run("stream not found", func(t *testing.T) {
		e.fails(t, 404, "stream_not_found", http.MethodPost, "/v1/admin/stream/nope/consumer", `{"name":"c","mode":"pull"}`)
		e.fails(t, 400, "invalid_name", http.MethodPost, "/v1/admin/stream/a.b/consumer", `{"name":"c","mode":"pull"}`)
	})

	t.Run("fields are mapped", func(t *testing.T) {
		c := e.ok(t, http.MethodGet, path+"/grouped", "").get("consumer.config").(map[string]any)
		assert.Equal(t, "push", c["mode"])
		assert.Equal(t, "workers", c["deliver_group"])
		assert.Equal(t, float64(3), c["max_deliver"], "max_retry is JetStream's max_deliver")
		assert.Equal(t, float64(5*time.Second), c["ack_wait"])
		assert.Nil(t, c["deliver_subject"], "served through the bridge only")

		c = e.ok(t, http.MethodGet, path+"/pull1", "").get("consumer.config").(map[string]any)
		assert.Equal(t, "pull", c["mode"])
		assert.Equal(t, "a note", c["notes"])
		assert.Equal(t, float64(10), c["max_ack_pending"], "max_inflight is JetStream's max_ack_pending")
		assert.Nil(t, c["deliver_subject"])
		assert.Equal(t, "all", c["deliver_policy"])

		c = e.ok(t, http.MethodGet, path+"/pull2", "").get("consumer.config").(map[string]any)
		assert.Equal(t, "by_start_sequence", c["deliver_policy"])
		assert.Equal(t, float64(5), c["opt_start_seq"])
		assert.Equal(t, []any{float64(time.Second), float64(2 * time.Second)}, c["backoff"])
		assert.Equal(t, []any{"orders.a", "orders.b"}, c["filter_subjects"])
		assert.Nil(t, c["filter_subject"], "several filters are not one")
		assert.Equal(t, float64(16), c["max_waiting"])
		assert.Equal(t, float64(time.Hour), c["inactive_threshold"])
		assert.Equal(t, true, c["headers_only"])
		assert.Equal(t, true, c["memory_storage"])

		c = e.ok(t, http.MethodGet, path+"/since", "").get("consumer.config").(map[string]any)
		assert.Equal(t, "2024-01-02T03:04:05Z", c["opt_start_time"])
	})
}

// Creating a consumer again with the same request succeeds; with another
// configuration it conflicts.
func TestConsumerIdempotence(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"orders","subjects":["orders.>","test-subject.01"]}`)
	const path = "/v1/admin/stream/orders/consumer"
	for _, tt := range []struct{ name, body, other string }{
		{"push", `{"name":"p","mode":"push","max_inflight":4,"filter_subject":"orders.new"}`,
			`{"name":"p","mode":"push","max_inflight":5,"filter_subject":"orders.new"}`},
		{"push with group", `{"name":"g","mode":"push","delivery_group":"w"}`, `{"name":"g","mode":"push","delivery_group":"x"}`},
		{"pull", `{"name":"l","mode":"pull","max_inflight":4,"ack_wait":10000000000}`,
			`{"name":"l","mode":"pull","max_inflight":4,"ack_wait":20000000000}`},
		{"pull to push", `{"name":"m","mode":"pull"}`, `{"name":"m","mode":"push"}`},
		{"start time", `{"name":"t","mode":"push","deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05Z"}`,
			`{"name":"t","mode":"push","deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:06Z"}`},
		{"seed", seedConsumer, `{"max_inflight":4,"mode":"push","name":"testConsumer00","filter_subject":"orders.other"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			first := e.ok(t, http.MethodPost, path, tt.body)
			again := e.ok(t, http.MethodPost, path, tt.body)
			assert.Equal(t, first.get("consumer.config"), again.get("consumer.config"))
			e.fails(t, 409, "consumer_exists", http.MethodPost, path, tt.other)
		})
	}
}

// A consumer whose filter can match nothing its stream captures is
// refused with 400 filter_not_in_stream (the original httpmq refused it;
// nats-server no longer does). Any overlap is enough.
func TestConsumerFilterOutsideStream(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"orders","subjects":["orders.>","audit.*.log"]}`)
	const path = "/v1/admin/stream/orders/consumer"
	for i, tt := range []struct {
		filter string
		ok     bool
	}{
		{"orders.eu", true},
		{"orders.eu.*", true},
		{"orders.>", true},
		{"*.eu.created", true}, // overlaps orders.> on orders.eu.created
		{">", true},
		{"audit.x.log", true},
		{"audit.>", true},   // wider than audit.*.log: sees all of it
		{"audit.x.*", true}, // partial overlap: audit.x.log
		{"orders", false},   // orders.> needs one more token
		{"audit.x", false},
		{"audit.x.log.more", false},
		{"payments.>", false},
		{"8c1e3f0a-6c8d-4b9e-9d8f-0f4b2a7c1d2e", false}, // what the Go SDK's own test sends
	} {
		body := fmt.Sprintf(`{"name":"c%d","mode":"push","max_inflight":1,"filter_subject":%q}`, i, tt.filter)
		if tt.ok {
			e.ok(t, http.MethodPost, path, body)
			continue
		}
		r := e.fails(t, http.StatusBadRequest, "filter_not_in_stream", http.MethodPost, path, body)
		assert.Contains(t, r.get("error.detail"), tt.filter, "the detail names the filter")
		assert.Contains(t, r.get("error.detail"), "orders.>, audit.*.log", "and the stream's subjects")
	}
	e.fails(t, http.StatusBadRequest, "filter_not_in_stream", http.MethodPost, path,
		`{"name":"multi","mode":"pull","filter_subjects":["orders.eu","payments.eu"]}`)
	e.fails(t, http.StatusNotFound, "stream_not_found", http.MethodPost, "/v1/admin/stream/nope/consumer",
		`{"name":"x","mode":"push","max_inflight":1,"filter_subject":"a"}`)
	r := e.ok(t, http.MethodGet, path, "")
	assert.Len(t, r.Body["consumers"], 8, "no refused consumer was created")
}

func TestConsumerReadDelete(t *testing.T) {
	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"orders","subjects":["orders.>"]}`)
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"empty","subjects":["empty"]}`)
	const path = "/v1/admin/stream/orders/consumer"
	e.ok(t, http.MethodPost, path, `{"name":"a","mode":"push"}`)
	e.ok(t, http.MethodPost, path, `{"name":"b","mode":"pull"}`)

	r := e.ok(t, http.MethodGet, path, "")
	require.Len(t, r.Body["consumers"], 2)
	assert.Equal(t, "push", r.get("consumers.a.config.mode"))
	assert.Equal(t, "pull", r.get("consumers.b.config.mode"))
	assert.Equal(t, map[string]any{}, e.ok(t, http.MethodGet, "/v1/admin/stream/empty/consumer", "").Body["consumers"])
	assert.Equal(t, float64(2), e.ok(t, http.MethodGet, "/v1/admin/stream/orders", "").get("stream.state.consumer_count"))

	e.fails(t, 404, "stream_not_found", http.MethodGet, "/v1/admin/stream/nope/consumer", "")
	e.fails(t, 400, "invalid_name", http.MethodGet, "/v1/admin/stream/a.b/consumer", "")
	e.fails(t, 404, "consumer_not_found", http.MethodGet, path+"/nope", "")
	e.fails(t, 404, "stream_not_found", http.MethodGet, "/v1/admin/stream/nope/consumer/a", "")
	e.fails(t, 400, "invalid_name", http.MethodGet, path+"/a.b", "")

	e.ok(t, http.MethodDelete, path+"/a", "")
	e.fails(t, 404, "consumer_not_found", http.MethodDelete, path+"/a", "")
	e.fails(t, 404, "consumer_not_found", http.MethodGet, path+"/a", "")
	e.fails(t, 404, "stream_not_found", http.MethodDelete, "/v1/admin/stream/nope/consumer/b", "")
	e.fails(t, 400, "invalid_name", http.MethodDelete, path+"/b*", "")
	require.Len(t, e.ok(t, http.MethodGet, path, "").Body["consumers"], 1)
}
