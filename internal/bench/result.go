package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one measurement. Throughput results carry the native
// figure of the same scenario, storage and size from the same run, and
// the ratio between the two.
type Result struct {
	Scenario    string  `json:"scenario"` // publish, consume, latency, memory, fanout, live, live-latency
	Variant     string  `json:"variant"`  // native, session-json, session-msgpack, session-msgpack-http1, session-json-http1, rest-h2c, rest-http1, rest-batch-h2c, floor-h2c, floor-http1
	Storage     string  `json:"storage"`  // file or memory
	Size        int     `json:"size"`     // payload bytes
	Count       int     `json:"count"`    // messages (sessions, for memory)
	Concurrency int     `json:"concurrency,omitempty"`
	Rate        float64 `json:"rate,omitempty"`        // messages per second
	NativeRate  float64 `json:"native_rate,omitempty"` // the native variant's rate, same run
	Ratio       float64 `json:"ratio,omitempty"`       // Rate / NativeRate
	// Latency, publish to delivery, in milliseconds, at OfferedRate msg/s.
	OfferedRate int     `json:"offered_rate,omitempty"`
	P50         float64 `json:"p50_ms,omitempty"`
	P99         float64 `json:"p99_ms,omitempty"`
	P999        float64 `json:"p999_ms,omitempty"`
	Max         float64 `json:"max_ms,omitempty"`
	// Memory: server bytes (heap in use + stacks) per idle session.
	BytesPerSession float64 `json:"bytes_per_session,omitempty"`
	// HeapPerSession and StackPerSession split BytesPerSession;
	// GoroutinesPerSession counts the server's goroutines per session.
	HeapPerSession       float64 `json:"heap_per_session,omitempty"`
	StackPerSession      float64 `json:"stack_per_session,omitempty"`
	GoroutinesPerSession float64 `json:"goroutines_per_session,omitempty"`
	// ServerMicros is the server process's CPU time (JetStream and
	// httpmq) per message or delivery, in microseconds: what a variant
	// costs the server, apart from its clients (which share the machine).
	ServerMicros float64 `json:"server_us_per_msg,omitempty"`
	Errors       int     `json:"errors"`
	Seconds      float64 `json:"seconds"`
	// Round numbers the round of a run of several ([Options.Rounds]).
	Round int `json:"round,omitempty"`
	// Rounds, RatioMin and RatioMax are those of a [Summarize]d result:
	// how many rounds its medians come from, and the range of its ratio.
	Rounds   int     `json:"rounds,omitempty"`
	RatioMin float64 `json:"ratio_min,omitempty"`
	RatioMax float64 `json:"ratio_max,omitempty"`
}

func latencyResult(r Result, lat []time.Duration) Result {
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(lat))), len(lat)-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	r.P50, r.P99, r.P999 = at(0.50), at(0.99), at(0.999)
	r.Max = float64(lat[len(lat)-1].Microseconds()) / 1000
	r.Count = len(lat)
	return r
}

// withRatios fills NativeRate and Ratio of every throughput result from
// the native result of the same scenario, storage and size.
func withRatios(rs []Result) []Result {
	type key struct {
		scenario, storage string
		size, round       int
	}
	native := map[key]float64{}
	for _, r := range rs {
		if r.Variant == "native" && r.Rate > 0 {
			native[key{r.Scenario, r.Storage, r.Size, r.Round}] = r.Rate
		}
	}
	for i, r := range rs {
		if n := native[key{r.Scenario, r.Storage, r.Size, r.Round}]; n > 0 && r.Rate > 0 {
			rs[i].NativeRate = n
			rs[i].Ratio = r.Rate / n
		}
	}
	return rs
}

// Summarize turns the results of several rounds into one result per
// measurement (scenario, variant, storage, size, concurrency, offered
// rate), in the order of the first round: each figure is the median of
// its rounds, the ratio's median being that of the rounds' own ratios
// (each against the native figure of its round), with its range beside
// it. Results without rounds pass unchanged.
func Summarize(rs []Result) []Result {
	type key struct {
		scenario, variant, storage string
		size, concurrency, offered int
	}
	groups := map[key][]Result{}
	var order []key
	for _, r := range rs {
		k := key{r.Scenario, r.Variant, r.Storage, r.Size, r.Concurrency, r.OfferedRate}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 && g[0].Round == 0 {
			out = append(out, g[0])
			continue
		}
		m := g[0]
		m.Round, m.Rounds, m.Errors = 0, len(g), 0
		vals := make([][]float64, len(figures(&m)))
		for i := range g {
			for j, p := range figures(&g[i]) {
				vals[j] = append(vals[j], *p)
			}
		}
		for j, p := range figures(&m) {
			*p = median(vals[j])
		}
		for i, r := range g {
			m.Errors += r.Errors
			if i == 0 || r.Ratio < m.RatioMin {
				m.RatioMin = r.Ratio
			}
			if i == 0 || r.Ratio > m.RatioMax {
				m.RatioMax = r.Ratio
			}
		}
		out = append(out, m)
	}
	return out
}

// figures are the fields of r that [Summarize] takes the median of.
func figures(r *Result) []*float64 {
	return []*float64{&r.Rate, &r.NativeRate, &r.Ratio, &r.P50, &r.P99, &r.P999, &r.Max,
		&r.BytesPerSession, &r.HeapPerSession, &r.StackPerSession, &r.GoroutinesPerSession, &r.ServerMicros, &r.Seconds}
}

// median is the middle value of vs (the mean of the two middle ones for
// an even count); it sorts vs.
func median(vs []float64) float64 {
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// WriteJSON writes one JSON object per result, one per line.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// ReadJSON reads what [WriteJSON] wrote to a file.
func ReadJSON(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Result
	dec := json.NewDecoder(f)
	for {
		var r Result
		if err := dec.Decode(&r); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
}

// WriteTable writes the results as a human-readable table. Throughput is
// never shown without the native figure of the same run beside it. The
// results of several rounds are [Summarize]d first: medians, with the
// ratio's range across rounds.
func WriteTable(w io.Writer, rs []Result) error {
	rs = Summarize(rs)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tvariant\tstorage\tsize\tcount\tresult\tnative\tratio\tserver µs/msg\terrors")
	for _, r := range rs {
		var result, native, ratio, cpu string
		if r.ServerMicros > 0 {
			cpu = fmt.Sprintf("%.1f", r.ServerMicros)
		}
		switch {
		case r.Scenario == "memory":
			result = fmt.Sprintf("%.1f KB/session (heap %.1f, stacks %.1f; %.1f goroutines)", r.BytesPerSession/1024,
				r.HeapPerSession/1024, r.StackPerSession/1024, r.GoroutinesPerSession)
		case r.Scenario == "latency" || r.Scenario == "live-latency":
			result = fmt.Sprintf("p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms @%d/s", r.P50, r.P99, r.P999, r.Max, r.OfferedRate)
		default:
			result = fmt.Sprintf("%.0f msg/s", r.Rate)
			if r.NativeRate > 0 && r.Variant != "native" {
				native = fmt.Sprintf("%.0f msg/s", r.NativeRate)
				ratio = fmt.Sprintf("%.0f%%", 100*r.Ratio)
				if r.Rounds > 1 {
					ratio += fmt.Sprintf(" (%.0f-%.0f%%, %d rounds)", 100*r.RatioMin, 100*r.RatioMax, r.Rounds)
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\n", r.Scenario, variantLabel(r), r.Storage, r.Size, r.Count,
			result, native, ratio, cpu, r.Errors)
	}
	return tw.Flush()
}

func variantLabel(r Result) string {
	if r.Concurrency > 0 {
		return r.Variant + " ×" + fmt.Sprint(r.Concurrency)
	}
	return r.Variant
}

// Scenarios lists the scenario names in the order they run.
var Scenarios = []string{"publish", "consume", "latency", "memory", "fanout", "live"}

// ParseScenarios checks a comma-separated list against [Scenarios].
func ParseScenarios(list string) ([]string, error) {
	if list == "" || list == "all" {
		return Scenarios, nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(Scenarios, s) {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(Scenarios, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}
