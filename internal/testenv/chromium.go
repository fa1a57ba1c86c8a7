package testenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Chromium returns the path of headless Chromium (HTTPMQ_CHROMIUM, or
// chromium on PATH). Without one the test is skipped, except in CI
// (CI set), where `make test` installs it: there it fails.
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("HTTPMQ_CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium, or set HTTPMQ_CHROMIUM)")
	}
	return path
}

// OpenInChromium loads url in a headless Chromium of its own (a fresh
// profile, certificate errors ignored) until the test ends, and returns
// a function that reports what the browser printed, for failure
// messages.
func OpenInChromium(t testing.TB, url string) (output func() string) {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--ignore-certificate-errors", "--user-data-dir="+t.TempDir(), url)
	out := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return out.String
}

// syncBuilder is a strings.Builder safe for a process and a test.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
