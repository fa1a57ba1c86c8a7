package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// Bugs found in package bridge while building the admin API, shown
// against the bridge directly. The admin handlers work around the first.

// BRIDGE BUG: re-creating an identical push consumer returns (nil, nil):
// CreateConsumer's push branch returns `nil, b.consumerExists(...)`, and
// consumerExists returns nil when the existing consumer matches. It
// should return the existing consumer's info.
func TestBridgeIdenticalPushConsumerReturnsInfo(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	ctx := testenv.Context(t)
	_, err := env.Bridge.CreateStream(ctx, bridge.StreamConfig{Name: "s", Subjects: []string{"s.>"}})
	require.NoError(t, err)
	cfg := bridge.ConsumerConfig{Name: "c", Push: true, MaxAckPending: 4}
	_, err = env.Bridge.CreateConsumer(ctx, "s", cfg)
	require.NoError(t, err)
	ci, err := env.Bridge.CreateConsumer(ctx, "s", cfg)
	require.NoError(t, err)
	require.NotNil(t, ci, "identical re-create must return the consumer's info")
}

// JetStream refuses some configurations with an API error whose HTTP-like
// code is 500 (err_code 10052, "invalid stream config"). They are the
// client's mistake: 400 invalid_config, not 503 unavailable.
// BRIDGE BUG: bridge.classify maps every APIError with Code >= 500 to
// ErrUnavailable; err_code 10052 (JSStreamInvalidConfigF) must map to
// ErrInvalidConfig. (The admin API refuses a duplicate window longer than
// max_age itself; an update to or from workqueue retention, or a window
// longer than the stream's existing max_age, still reaches JetStream.)
func TestJetStreamRefusalsAreInvalidConfig(t *testing.T) {
	_, err := testenv.New(t, testenv.Options{}).Bridge.CreateStream(testenv.Context(t),
		bridge.StreamConfig{Name: "s", Subjects: []string{"x"}, Limits: bridge.StreamLimits{MaxAge: time.Second}, Duplicates: time.Minute})
	require.ErrorIs(t, err, bridge.ErrInvalidConfig)

	e := newEnv(t, admin.Options{}, testenv.Options{})
	e.ok(t, http.MethodPost, "/v1/admin/stream", `{"name":"lim","subjects":["lim"]}`)
	e.fails(t, 400, "invalid_config", http.MethodPut, "/v1/admin/stream/lim", `{"retention":"workqueue"}`)
}
