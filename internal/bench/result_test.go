package bench_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/bench"
)

func TestSummarize(t *testing.T) {
	pub := func(variant string, round int, rate, ratio, us float64) bench.Result {
		return bench.Result{Scenario: "publish", Variant: variant, Storage: "file", Size: 128, Round: round,
			Rate: rate, Ratio: ratio, ServerMicros: us}
	}
	tests := []struct {
		name string
		in   []bench.Result
		want []bench.Result
	}{
		{
			name: "one run passes unchanged",
			in:   []bench.Result{pub("native", 0, 100, 0, 8), pub("session", 0, 50, 0.5, 20)},
			want: []bench.Result{pub("native", 0, 100, 0, 8), pub("session", 0, 50, 0.5, 20)},
		},
		{
			name: "odd rounds: the middle figure, each on its own, and the ratio's range",
			in: []bench.Result{
				pub("native", 1, 100, 0, 8), pub("session", 1, 40, 0.4, 30),
				pub("native", 2, 80, 0, 9), pub("session", 2, 48, 0.6, 20),
				pub("native", 3, 120, 0, 7), pub("session", 3, 60, 0.5, 25),
			},
			want: []bench.Result{
				{Scenario: "publish", Variant: "native", Storage: "file", Size: 128, Rate: 100, ServerMicros: 8, Rounds: 3},
				{Scenario: "publish", Variant: "session", Storage: "file", Size: 128, Rate: 48, Ratio: 0.5, ServerMicros: 25,
					Rounds: 3, RatioMin: 0.4, RatioMax: 0.6},
			},
		},
		{
			name: "even rounds: the mean of the middle two",
			in:   []bench.Result{pub("session", 1, 40, 0.4, 30), pub("session", 2, 60, 0.6, 20)},
			want: []bench.Result{{Scenario: "publish", Variant: "session", Storage: "file", Size: 128, Rate: 50, Ratio: 0.5,
				ServerMicros: 25, Rounds: 2, RatioMin: 0.4, RatioMax: 0.6}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, bench.Summarize(tt.in))
		})
	}
}

func TestTableOfRounds(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, bench.WriteTable(&b, []bench.Result{
		{Scenario: "publish", Variant: "session", Storage: "file", Size: 128, Round: 1, Rate: 40, NativeRate: 100, Ratio: 0.4},
		{Scenario: "publish", Variant: "session", Storage: "file", Size: 128, Round: 2, Rate: 60, NativeRate: 100, Ratio: 0.6},
	}))
	assert.Contains(t, b.String(), "50% (40-60%, 2 rounds)")
}
