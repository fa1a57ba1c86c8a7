// Package tssdk_test runs the TypeScript SDK (clients/ts) against a real
// httpmq: in headless Chromium over HTTP/1.1 and over HTTP/2 with TLS, and in
// Node. It builds the SDK first (npm ci when node_modules is missing, then
// npm run build). Without node and npm the tests skip, except in CI.
package tssdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/session"
)

var jwtSecret = []byte("clients/ts test secret, 32 bytes or more")

// tokenTTL is the life of the tokens the SDK fetches: short, so that the
// scenario sees a renewal and an expiry.
const tokenTTL = 4 * time.Second

// build runs npm ci (when node_modules is missing) and npm run build once.
var build = sync.OnceValues(func() (string, error) {
	var out strings.Builder
	run := func(args ...string) error {
		cmd := exec.Command("npm", args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	}
	if _, err := os.Stat("node_modules"); err != nil {
		if err := run("ci", "--no-audit", "--no-fund"); err != nil {
			return out.String(), fmt.Errorf("npm ci: %w", err)
		}
	}
	if err := run("run", "build"); err != nil {
		return out.String(), fmt.Errorf("npm run build: %w", err)
	}
	return out.String(), nil
})

// needNode skips without node and npm (fails in CI, where make test-deps
// installs them) and builds the SDK.
func needNode(t *testing.T) {
	t.Helper()
	for _, c := range []string{"node", "npm"} {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; make test-deps installs it", c)
			}
			t.Skipf("%s is not installed (apt-get install nodejs npm)", c)
		}
	}
	if out, err := build(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
}

// nodeMajor is node's major version.
func nodeMajor(t *testing.T) int {
	t.Helper()
	v, err := exec.Command("node", "--version").Output()
	require.NoError(t, err)
	var major int
	_, _ = fmt.Sscanf(string(v), "v%d", &major)
	return major
}

// nodeArgs are node's flags for a global WebSocket: Node 20 and 21 have one
// behind a flag; before, the ws package's is installed as the global one
// (test/ws-global.js).
func nodeArgs(t *testing.T) []string {
	t.Helper()
	switch m := nodeMajor(t); {
	case m < 20:
		return []string{"--import", "./test/ws-global.js"}
	case m < 22:
		return []string{"--experimental-websocket"}
	}
	return nil
}

// server is a real httpmq in-process (management API and sessions over an
// embedded JetStream, JWT authentication on) plus what the scenario needs
// from its test: the SDK's files, tokens, a way to drop every session, and
// /result for the browser's report.
type server struct {
	URL     string
	results chan json.RawMessage
	drops   atomic.Int32
	protos  sync.Map // "METHOD PROTO" of session handshakes
}

func startServer(t *testing.T, tls bool) *server {
	t.Helper()
	env := testenv.New(t, testenv.Options{})
	j, err := auth.NewJWT(auth.JWTConfig{Secret: jwtSecret})
	require.NoError(t, err)
	gate := &auth.Gate{Authn: &auth.Tokens{JWT: j}, Authz: auth.Policy{}}
	mgmt := admin.New(admin.Options{Bridge: env.Bridge, Gate: gate, Logger: testenv.Logger()})
	newSessions := func() *session.Handler {
		// Frequent pings: the SDK's keep-alive (ping frames every heartbeat)
		// runs all through the scenario, which fails on any unplanned
		// disconnect.
		return session.New(session.Options{Broker: env.Bridge, Gate: gate, Logger: testenv.Logger(), PingInterval: 2 * time.Second})
	}
	var sessions atomic.Pointer[session.Handler]
	sessions.Store(newSessions())
	s := &server{results: make(chan json.RawMessage, 1)}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/session", func(w http.ResponseWriter, r *http.Request) {
		s.protos.Store(r.Method+" "+r.Proto, true)
		sessions.Load().ServeHTTP(w, r)
	})
	mux.Handle("/v1/admin/", mgmt)
	mux.HandleFunc("GET /test/token", func(w http.ResponseWriter, r *http.Request) {
		sub := r.URL.Query().Get("sub")
		if sub == "" {
			sub = "ts-sdk"
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(tokenTTL))},
			Httpmq:           auth.Permissions{Admin: auth.AdminFull, Publish: []string{"sdk.>", "nowhere.>", "orders.>"}, Subscribe: []string{"*/*"}, Listen: []string{"sdk.>"}},
		}).SignedString(jwtSecret)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, tok)
	})
	// drop: every session ends with 1001 going_away, as when an instance
	// stops; a fresh handler takes the reconnects.
	mux.HandleFunc("POST /test/drop", func(w http.ResponseWriter, r *http.Request) {
		old := sessions.Swap(newSessions())
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := old.Shutdown(ctx); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.drops.Add(1)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case s.results <- b:
		default:
		}
	})
	files := func(prefix, dir string) {
		fs := http.StripPrefix(prefix, http.FileServer(http.Dir(dir)))
		mux.Handle("GET "+prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".js") || strings.HasSuffix(r.URL.Path, ".mjs") {
				w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			}
			w.Header().Set("Cache-Control", "no-store")
			fs.ServeHTTP(w, r)
		}))
	}
	files("/dist/", "dist")
	files("/test/", "test")
	files("/node_modules/@msgpack/msgpack/", "node_modules/@msgpack/msgpack")

	ts := httptest.NewUnstartedServer(mux)
	if tls {
		ts.EnableHTTP2 = true
		ts.StartTLS()
	} else {
		ts.Start()
	}
	s.URL = ts.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sessions.Load().Shutdown(ctx)
		ts.Close()
	})
	return s
}

func (s *server) seen() []string {
	var out []string
	s.protos.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	return out
}

// result is what the scenario reports, from the browser or from Node.
type result struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Reports []struct {
		Codec    string   `json:"codec"`
		Checks   []string `json:"checks"`
		Failures []string `json:"failures"`
		Events   []string `json:"events"`
		Tokens   int      `json:"tokens"`
	} `json:"reports"`
}

// check4004 names the scenario's auth_expired check.
const check4004 = "4004 auth_expired: reconnect with a fresh token, resubscribed"

// assert checks a report; expired: the json scenario ran the 4004 part.
func (r result) assert(t *testing.T, expired bool) {
	t.Helper()
	require.True(t, r.OK, "scenario failed: %s\nreports so far: %+v", r.Error, r.Reports)
	require.Len(t, r.Reports, 2, "one report per codec")
	for i, codec := range []string{"json", "msgpack"} {
		rep := r.Reports[i]
		assert.Equal(t, codec, rep.Codec)
		assert.Empty(t, rep.Failures, "%s: failed checks (events %v)", codec, rep.Events)
		assert.GreaterOrEqual(t, len(rep.Checks), 40, "%s: checks run", codec)
		if codec == "json" && expired {
			assert.Contains(t, rep.Checks, check4004)
		}
		assert.GreaterOrEqual(t, rep.Tokens, 3, "%s: tokens fetched: connect, renewal, reconnect", codec)
		t.Logf("%s: %d checks passed; session events %v", codec, len(rep.Checks)-len(rep.Failures), rep.Events)
	}
}

// TestBrowser: headless Chromium loads test/browser.html, which imports the
// built SDK (dist/) as ES modules and runs the scenario with both codecs,
// over HTTP/1.1 (WebSocket by Upgrade) and over HTTP/2 with TLS (extended
// CONNECT).
func TestBrowser(t *testing.T) {
	testenv.Chromium(t)
	needNode(t)
	for _, tc := range []struct {
		name  string
		tls   bool
		proto string
		query string
	}{
		{"HTTP/1.1", false, "GET HTTP/1.1", ""},
		// The 4004 part (a few seconds of waiting for exp) runs once: it
		// does not depend on the transport.
		{"HTTP/2 TLS", true, "CONNECT HTTP/2.0", "?expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.tls)
			output := testenv.OpenInChromium(t, s.URL+"/test/browser.html"+tc.query)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			var r result
			select {
			case b := <-s.results:
				require.NoError(t, json.Unmarshal(b, &r), "report: %s", b)
			case <-ctx.Done():
				t.Fatalf("no report from the browser; its output:\n%s", output())
			}
			r.assert(t, tc.query != "")
			assert.Equal(t, []string{tc.proto}, s.seen(), "how the browser opened its sessions")
			assert.Equal(t, int32(2), s.drops.Load(), "sessions dropped by the scenario")
		})
	}
}

// TestNode runs the scenario on Node (its fetch) over HTTP/1.1, with Node's
// own WebSocket (Node 20 and later) and with the ws package's, given as the
// WebSocket option.
func TestNode(t *testing.T) {
	needNode(t)
	for _, ws := range []string{"global", "ws"} {
		t.Run(ws, func(t *testing.T) {
			if ws == "global" && nodeMajor(t) < 20 {
				t.Skip("Node before 20 has no WebSocket of its own")
			}
			s := startServer(t, false)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", append(nodeArgs(t), "test/node.test.js")...)
			cmd.Env = append(os.Environ(), "HTTPMQ_TEST_BASE="+s.URL, "HTTPMQ_TEST_WS="+ws)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "node: %s\n%s", out, stderr.String())
			var r struct {
				result
				WebSocket string `json:"websocket"`
			}
			require.NoError(t, json.Unmarshal(out, &r), "node printed: %s\n%s", out, stderr.String())
			r.assert(t, ws == "global")
			assert.Equal(t, ws, r.WebSocket, "the WebSocket the sessions used")
			assert.Equal(t, int32(2), s.drops.Load())
		})
	}
}

// readmeExample is the TypeScript block of README.md.
func readmeExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```ts\n(.*?)```").FindSubmatch(b)
	require.NotNil(t, m, "README.md has no ts block")
	return string(m[1])
}

// TestQuickstart: examples/quickstart.ts is the README's example verbatim,
// and, compiled, it runs on Node against a real httpmq (with a token, as
// authentication is on here).
func TestQuickstart(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("examples", "quickstart.ts"))
	require.NoError(t, err)
	require.Equal(t, string(src), readmeExample(t), "README.md must show examples/quickstart.ts as is")

	needNode(t)
	s := startServer(t, false)
	resp, err := http.Get(s.URL + "/test/token")
	require.NoError(t, err)
	tok, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append(nodeArgs(t), "build/examples/quickstart.js")...)
	cmd.Env = append(os.Environ(), "HTTPMQ_ADMIN="+s.URL, "HTTPMQ_SESSION="+strings.Replace(s.URL, "http", "ws", 1)+"/v1/session",
		"HTTPMQ_TOKEN="+string(tok))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "quickstart: %s", out)
	assert.Equal(t, "stored in orders at 1\norders.new { order: 1042 } delivery 1\n", string(out))
}

// TestCodecGolden: the SDK's JSON and msgpack codecs read every golden frame
// of testdata/protocol alike and encode them back.
func TestCodecGolden(t *testing.T) {
	needNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "test/codec.test.js", filepath.Join("..", "..", "testdata", "protocol")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var r struct {
		OK       bool     `json:"ok"`
		Checked  []string `json:"checked"`
		Failures []string `json:"failures"`
	}
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	assert.Empty(t, r.Failures)
	assert.Contains(t, r.Checked, "msg_binary")
	assert.GreaterOrEqual(t, len(r.Checked), 20)
}
