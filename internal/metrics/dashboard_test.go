package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The dashboard and the documentation name metrics; these tests keep
// them true to what the registry exports.
const (
	dashboardFile  = "../../docs/grafana-dashboard.json"
	operationsFile = "../../docs/operations.md"
)

// targetLabels are added by Prometheus when it scrapes, not by httpmq.
var targetLabels = []string{"instance", "job"}

// family is what a dashboard query may refer to: a metric family's
// labels, and whether it is a histogram (name_bucket, _sum, _count).
type family struct {
	labels    []string
	histogram bool
}

func families(t *testing.T) map[string]family {
	t.Helper()
	mfs, err := touched(t).Registry().Gather()
	require.NoError(t, err)
	out := map[string]family{}
	for _, mf := range mfs {
		f := family{histogram: mf.GetType() == dto.MetricType_HISTOGRAM}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(f.labels, l.GetName()) {
					f.labels = append(f.labels, l.GetName())
				}
			}
		}
		if f.histogram {
			f.labels = append(f.labels, "le")
		}
		out[mf.GetName()] = f
	}
	return out
}

// lookup resolves a series name of a query to its family's name.
func lookup(fams map[string]family, name string) (string, bool) {
	if _, ok := fams[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && fams[base].histogram {
			return base, true
		}
	}
	return "", false
}

var (
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	rangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	groupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	stringRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	identRE    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// promqlKeywords are the words of PromQL that are neither functions nor
// metric names.
var promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}

// query is what a PromQL expression refers to.
type query struct {
	metrics  []string
	matchers map[string][]string // metric → label names matched on
	grouping []string            // label names of by(), on()…
}

// parseQuery extracts the metric names and label names of a PromQL
// expression: enough of PromQL for dashboards (selectors, ranges,
// aggregations, functions), not a full parser.
func parseQuery(expr string) query {
	q := query{matchers: map[string][]string{}}
	for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
		for item := range strings.SplitSeq(m[2], ",") {
			if lm := matcherRE.FindStringSubmatch(item); lm != nil {
				q.matchers[m[1]] = append(q.matchers[m[1]], lm[1])
			}
		}
	}
	rest := selectorRE.ReplaceAllString(expr, "$1")
	rest = rangeRE.ReplaceAllString(rest, "")
	for _, g := range groupingRE.FindAllStringSubmatch(rest, -1) {
		for l := range strings.SplitSeq(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				q.grouping = append(q.grouping, l)
			}
		}
	}
	rest = groupingRE.ReplaceAllString(rest, "")
	rest = stringRE.ReplaceAllString(rest, "")
	for _, loc := range identRE.FindAllStringIndex(rest, -1) {
		word := rest[loc[0]:loc[1]]
		if loc[0] > 0 && (rest[loc[0]-1] >= '0' && rest[loc[0]-1] <= '9' || rest[loc[0]-1] == '.') {
			continue // part of a number: 1e3
		}
		if strings.HasPrefix(strings.TrimSpace(rest[loc[1]:]), "(") || slices.Contains(promqlKeywords, word) {
			continue // a function or a keyword
		}
		q.metrics = append(q.metrics, word)
	}
	return q
}

func TestParseQuery(t *testing.T) {
	q := parseQuery(`histogram_quantile(0.99, sum by (le, kind) (rate(httpmq_ack_duration_seconds_bucket{instance=~"$instance", kind!="x"}[$__rate_interval]))) / on(job) up`)
	assert.Equal(t, []string{"httpmq_ack_duration_seconds_bucket", "up"}, q.metrics)
	assert.Equal(t, map[string][]string{"httpmq_ack_duration_seconds_bucket": {"instance", "kind"}}, q.matchers)
	assert.Equal(t, []string{"le", "kind", "job"}, q.grouping)
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// TestDashboardMetricsExist: every metric and label a panel of
// docs/grafana-dashboard.json queries is one the registry exports.
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	fams := families(t)
	used := map[string]bool{}
	queries := 0
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			queries++
			q := parseQuery(target.Expr)
			require.NotEmpty(t, q.metrics, "panel %q: no metric in %s", p.Title, target.Expr)
			allowed := slices.Clone(targetLabels)
			for _, name := range q.metrics {
				base, ok := lookup(fams, name)
				if !assert.True(t, ok, "panel %q queries %s, which httpmq does not export", p.Title, name) {
					continue
				}
				used[base] = true
				f := fams[base]
				allowed = append(allowed, f.labels...)
				for _, l := range q.matchers[name] {
					assert.Contains(t, append(slices.Clone(targetLabels), f.labels...), l, "panel %q: %s has no label %s", p.Title, name, l)
				}
			}
			for _, l := range q.grouping {
				assert.Contains(t, allowed, l, "panel %q groups by %s, a label of none of its metrics", p.Title, l)
			}
		}
	}
	assert.Greater(t, queries, 10)
	for _, v := range d.Templating.List {
		if m := regexp.MustCompile(`label_values\((\w+),\s*(\w+)\)`).FindStringSubmatch(v.Definition); m != nil {
			base, ok := lookup(fams, m[1])
			require.True(t, ok, "variable %s: no metric %s", v.Name, m[1])
			assert.Contains(t, append(slices.Clone(targetLabels), fams[base].labels...), m[2], "variable %s", v.Name)
		}
	}
	// Every httpmq metric has a panel.
	for name := range fams {
		if strings.HasPrefix(name, "httpmq_") {
			assert.True(t, used[name], "no panel shows %s", name)
		}
	}
}

// TestOperationsListsEveryMetric: docs/operations.md names every httpmq
// metric.
func TestOperationsListsEveryMetric(t *testing.T) {
	raw, err := os.ReadFile(operationsFile)
	require.NoError(t, err)
	for name := range families(t) {
		if strings.HasPrefix(name, "httpmq_") {
			assert.True(t, strings.Contains(string(raw), "`"+name+"`"), "docs/operations.md does not list %s", name)
		}
	}
}
