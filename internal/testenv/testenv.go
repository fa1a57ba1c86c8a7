// Package testenv starts the real things tests run against: an embedded
// JetStream server in a temporary directory and a bridge connected to it.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/httpmq/httpmq/bridge"
)

// Env is an embedded JetStream server and a bridge connected to it.
type Env struct {
	Server *bridge.Embedded
	Bridge *bridge.Bridge
	Dir    string
}

// Options tune [New]. The zero value is fine.
type Options struct {
	// Listen also serves NATS over TCP ("127.0.0.1:-1" for a random port),
	// for tests that connect a second bridge or native nats.go.
	Listen string
	// RequestTimeout of the bridge; default 2s.
	RequestTimeout time.Duration
	// Dir reuses a store directory (restart tests); default t.TempDir().
	Dir string
}

// Logger is quiet unless HTTPMQ_TEST_LOG=1.
func Logger() *slog.Logger {
	if os.Getenv("HTTPMQ_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// New starts a server and a bridge; both stop when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	srv, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: dir, Listen: o.Listen, Logger: Logger()})
	if err != nil {
		t.Fatalf("embedded JetStream: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	b := Connect(t, srv, o.RequestTimeout)
	return &Env{Server: srv, Bridge: b, Dir: dir}
}

// Connect opens another bridge to srv, closed when the test ends.
func Connect(t testing.TB, srv *bridge.Embedded, timeout time.Duration) *bridge.Bridge {
	t.Helper()
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bridge.Connect(ctx, bridge.Config{InProcess: srv, RequestTimeout: timeout, Logger: Logger()})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Context is a test-bounded context (30s, or the test's deadline).
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond every 10ms until it is true or 10s pass.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
