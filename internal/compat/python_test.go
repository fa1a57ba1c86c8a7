package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/httpmq/httpmq/internal/testenv"
)

// pythonScript re-enacts the Python SDK's calls (see its doc string).
const pythonScript = "../../testdata/compat/python/sdk_calls.py"

// TestPythonSDK runs pythonScript against an httpmq over HTTP/1.1 (the
// only protocol of the SDK's aiohttp) and reports each of its cases as a
// subtest. python3 comes with the machine or from make test-deps; without
// it the test skips, except in CI, where it fails.
func TestPythonSDK(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 not found; make test-deps installs it")
		}
		t.Skip("python3 not found; make test-deps installs it")
	}
	h := start(t, testenv.HTTP1)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, pythonScript, h.mgmt.URL, h.data.URL).CombinedOutput()

	type result struct{ status, name, detail string }
	var results []*result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "    ") && len(results) > 0 { // a traceback
			r := results[len(results)-1]
			r.detail += "\n" + line
			continue
		}
		status, rest, _ := strings.Cut(line, " ")
		name, detail, _ := strings.Cut(rest, ": ")
		if status == "ok" || status == "skip" || status == "FAIL" {
			results = append(results, &result{status, name, detail})
		}
	}
	if len(results) == 0 || (err != nil && !strings.Contains(string(out), "FAIL ")) {
		t.Fatalf("%s did not run its cases (%v):\n%s", pythonScript, err, out)
	}
	for _, r := range results {
		t.Run(r.name, func(t *testing.T) {
			switch r.status {
			case "skip":
				t.Skip(r.detail)
			case "FAIL":
				t.Fatal(r.detail)
			}
		})
	}
}
