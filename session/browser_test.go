package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/session"
)

// browserPage opens a session the way a web app does, with the JSON
// subprotocol, then subscribes, publishes, receives, acks and reports
// what happened to /result.
const browserPage = `<!doctype html>
<meta charset="utf-8">
<title>httpmq browser test</title>
<script>
const steps = [];
function report(ok, detail) {
  fetch("/result", {method: "POST", body: JSON.stringify({ok, detail, steps})});
}
const ws = new WebSocket(WS_URL, PROTOCOLS);
const text = "hello from chromium";
ws.onerror = () => steps.push("error event");
ws.onclose = (ev) => { if (!window.done) report(false, "closed " + ev.code + " " + ev.reason); };
// A message holds one frame or several, one per line.
ws.onmessage = (ev) => ev.data.split("\n").forEach((line) => handle(JSON.parse(line), line));
function handle(f, raw) {
  steps.push(f.type + (f.id ? ":" + f.id : ""));
  if (f.type === "hello") {
    if (ws.protocol !== "httpmq.v1.json") return report(false, "subprotocol " + ws.protocol);
    ws.send(JSON.stringify({type: "subscribe", id: "1", sub: "b", stream: "S", consumer: "c", max_inflight: 1}));
  } else if (f.type === "ok" && f.id === "1") {
    ws.send(JSON.stringify({type: "publish", id: "2", subject: "s.browser", data: btoa(text)}));
  } else if (f.type === "msg") {
    if (atob(f.data) !== text || f.subject !== "s.browser") return report(false, "bad delivery " + raw);
    ws.send(JSON.stringify({type: "ack", id: "3", stream: f.stream, consumer: f.consumer,
      stream_seq: f.stream_seq, consumer_seq: f.consumer_seq}));
  } else if (f.type === "ok" && f.id === "3") {
    window.done = true;
    report(true, "");
    ws.close(1000, "done");
  } else if (f.type === "error") {
    report(false, raw);
  }
}
</script>
`

type browserResult struct {
	OK     bool     `json:"ok"`
	Detail string   `json:"detail"`
	Steps  []string `json:"steps"`
}

// TestBrowser: headless Chromium loads a page and opens
// new WebSocket(...) to the session endpoint, over HTTP/2 (where it must
// use extended CONNECT) and over HTTP/1.1 (Upgrade).
func TestBrowser(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		tls        bool
		// token: authenticate the documented browser way, with the token
		// as a second subprotocol (docs/security.md).
		token bool
	}{
		{"HTTP/2", "CONNECT HTTP/2.0", true, false},
		{"HTTP/1.1", "GET HTTP/1.1", false, false},
		{"HTTP/2 with token", "CONNECT HTTP/2.0", true, true},
		{"HTTP/1.1 with token", "GET HTTP/1.1", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			stream(t, env.Bridge, "S", "s.>")
			consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
			opts := session.Options{Broker: env.Bridge, Logger: testenv.Logger()}
			protocols := `"httpmq.v1.json"`
			if tc.token {
				opts.Gate = jwtGate(t)
				tok := token(t, "browser", time.Now().Add(time.Hour),
					auth.Permissions{Publish: []string{"s.*"}, Subscribe: []string{"S/c"}})
				protocols = fmt.Sprintf(`["httpmq.v1.json", %q]`, auth.SubprotocolPrefix+tok)
			}
			sessions := session.New(opts)
			results := make(chan browserResult, 1)
			var mu sync.Mutex
			var seen []string
			var wsURL string
			mux := http.NewServeMux()
			mux.HandleFunc("/v1/session", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.Proto)
				mu.Unlock()
				sessions.ServeHTTP(w, r)
			})
			mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
				var res browserResult
				b, _ := io.ReadAll(r.Body)
				if err := json.Unmarshal(b, &res); err != nil {
					res = browserResult{Detail: "bad result: " + string(b)}
				}
				select {
				case results <- res:
				default:
				}
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				mu.Lock()
				page := strings.Replace(browserPage, "WS_URL", fmt.Sprintf("%q", wsURL), 1)
				page = strings.Replace(page, "PROTOCOLS", protocols, 1)
				mu.Unlock()
				fmt.Fprint(w, page)
			})
			ts := httptest.NewUnstartedServer(mux)
			mu.Lock()
			if tc.tls {
				ts.EnableHTTP2 = true
				ts.StartTLS()
				wsURL = "wss" + strings.TrimPrefix(ts.URL, "https") + "/v1/session"
			} else {
				ts.Start()
				wsURL = "ws" + strings.TrimPrefix(ts.URL, "http") + "/v1/session"
			}
			mu.Unlock()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = sessions.Shutdown(ctx)
				ts.Close()
			})

			output := testenv.OpenInChromium(t, ts.URL+"/")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			select {
			case res := <-results:
				require.True(t, res.OK, "page failed: %s (steps %v)", res.Detail, res.Steps)
			case <-ctx.Done():
				t.Fatalf("no result from the browser; its output:\n%s", output())
			}
			mu.Lock()
			assert.Equal(t, []string{tc.want}, seen)
			mu.Unlock()
			ci, err := env.Bridge.Consumer(testenv.Context(t), "S", "c")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), ci.AckFloor.Stream, "the page's ack reached JetStream")
		})
	}
}
