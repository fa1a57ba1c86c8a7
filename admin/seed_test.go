package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/testenv"
)

// The seed README's management walk-through, request bodies verbatim.
const (
	seedStream = `{
    "name": "testStream00",
    "max_age": 300000000000,
    "subjects": [
        "test-subject.00",
        "test-subject.01"
    ]
}`
	seedConsumer = `{
    "max_inflight": 4,
    "mode": "push",
    "name": "testConsumer00",
    "filter_subject": "test-subject.01"
}`
)

func TestSeedWalkthrough(t *testing.T) {
	for _, contentType := range []string{"application/json", "application/octet-stream", "text/plain", ""} {
		t.Run("content-type="+contentType, func(t *testing.T) {
			e := newEnv(t, admin.Options{}, testenv.Options{})

			r := e.ok(t, http.MethodPost, "/v1/admin/stream", seedStream, "Content-Type", contentType)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))

			r = e.ok(t, http.MethodGet, "/v1/admin/stream/testStream00", "")
			cfg := r.get("stream.config").(map[string]any)
			assert.Equal(t, "testStream00", cfg["name"])
			assert.Equal(t, []any{"test-subject.00", "test-subject.01"}, cfg["subjects"])
			for field, want := range map[string]float64{
				"max_consumers": -1, "max_msgs": -1, "max_bytes": -1, "max_age": 300000000000,
				"max_msgs_per_subject": -1, "max_msg_size": -1,
			} {
				assert.Equal(t, want, cfg[field], "config.%s", field)
			}
			created, err := time.Parse(time.RFC3339Nano, r.get("stream.created").(string))
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), created, time.Minute)
			state := r.get("stream.state").(map[string]any)
			for _, field := range []string{"messages", "bytes", "first_seq", "last_seq", "consumer_count"} {
				assert.Equal(t, float64(0), state[field], "state.%s", field)
			}
			assert.Equal(t, "0001-01-01T00:00:00Z", state["first_ts"])
			assert.Equal(t, "0001-01-01T00:00:00Z", state["last_ts"])

			e.ok(t, http.MethodPost, "/v1/admin/stream/testStream00/consumer", seedConsumer, "Content-Type", contentType)

			r = e.ok(t, http.MethodGet, "/v1/admin/stream/testStream00/consumer/testConsumer00", "")
			c := r.get("consumer").(map[string]any)
			assert.Equal(t, "testStream00", c["stream_name"])
			assert.Equal(t, "testConsumer00", c["name"])
			_, err = time.Parse(time.RFC3339Nano, c["created"].(string))
			require.NoError(t, err)
			cc := c["config"].(map[string]any)
			assert.Equal(t, "push", cc["mode"])
			assert.Nil(t, cc["deliver_subject"], "served through the bridge only")
			assert.Equal(t, float64(-1), cc["max_deliver"])
			assert.Equal(t, float64(30*time.Second), cc["ack_wait"])
			assert.Equal(t, "test-subject.01", cc["filter_subject"])
			assert.Equal(t, float64(4), cc["max_ack_pending"])
			assert.Equal(t, "push", cc["mode"])
			for _, seq := range []string{"delivered", "ack_floor"} {
				assert.Equal(t, float64(0), r.get("consumer."+seq+".consumer_seq"))
				assert.Equal(t, float64(0), r.get("consumer."+seq+".stream_seq"))
			}
			for _, field := range []string{"num_ack_pending", "num_redelivered", "num_waiting", "num_pending"} {
				assert.Equal(t, float64(0), c[field], field)
			}
		})
	}
}
