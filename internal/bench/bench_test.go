package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/httpmq/httpmq/internal/bench"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestShortRun runs every scenario with tiny counts and checks that the
// figures are produced and well-formed — never that they are fast.
func TestShortRun(t *testing.T) {
	srv, err := bench.StartServer(bench.ServerOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results, err := bench.Run(ctx, bench.Target{HTTPURL: srv.HTTPURL, NATSURL: srv.NATSURL}, bench.Options{
		Count: 200, Sessions: 10, FanOut: 2, LiveSubscribers: 3, LiveRate: 100, LatencyRate: 200, LatencyDuration: 200 * time.Millisecond,
		Storages: []string{"memory"}, RESTConcurrency: 4, Window: 32,
	})
	require.NoError(t, err)

	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Scenario+"/"+r.Variant] = true
		assert.Zero(t, r.Errors, "%+v", r)
		switch r.Scenario {
		case "publish", "consume", "fanout", "live":
			assert.Greater(t, r.Rate, 0.0, "%+v", r)
			assert.Greater(t, r.NativeRate, 0.0, "every throughput has its same-run native figure: %+v", r)
			assert.InDelta(t, r.Rate/r.NativeRate, r.Ratio, 1e-9)
		case "latency", "live-latency":
			assert.Greater(t, r.P50, 0.0, "%+v", r)
			assert.LessOrEqual(t, r.P50, r.P99)
			assert.LessOrEqual(t, r.P99, r.P999)
			assert.LessOrEqual(t, r.P999, r.Max)
		case "memory":
			assert.Equal(t, 10, r.Count)
			assert.False(t, math.IsNaN(r.BytesPerSession))
		}
	}
	for _, want := range []string{
		"publish/native", "publish/session-json", "publish/session-msgpack", "publish/session-msgpack-http1", "publish/session-json-http1", "publish/rest-h2c", "publish/rest-http1", "publish/rest-batch-h2c",
		"consume/native", "consume/session-json", "consume/session-msgpack", "consume/session-msgpack-http1", "consume/session-json-http1", "consume/rest-h2c",
		"latency/native", "latency/session-msgpack", "latency/session-msgpack-http1", "memory/session-msgpack", "memory/session-msgpack-http1", "fanout/native", "fanout/session-msgpack",
		"live/native", "live/session-json", "live/session-msgpack", "live/session-msgpack-http1", "live/session-json-http1",
		"live-latency/native", "live-latency/session-json", "live-latency/session-msgpack", "live-latency/session-msgpack-http1", "live-latency/session-json-http1",
	} {
		assert.True(t, seen[want], "no result for %s", want)
	}

	var table, js bytes.Buffer
	require.NoError(t, bench.WriteTable(&table, results))
	assert.Contains(t, table.String(), "ratio")
	require.NoError(t, bench.WriteJSON(&js, results))
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	require.Len(t, lines, len(results))
	for _, l := range lines {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		assert.Contains(t, r, "scenario")
		assert.Contains(t, r, "size")
	}
}
