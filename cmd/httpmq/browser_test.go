package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/testenv"
)

// readmeSnippet is the README's browser example: the first js block of
// its sessions section.
func readmeSnippet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## Sessions.*?```js\n(.*?)```").FindSubmatch(b)
	require.NotNil(t, m, "README.md has no js block in its sessions section")
	return string(m[1])
}

// TestReadmeBrowserSnippet: the README's JavaScript, run as is by
// headless Chromium in a page served from another loopback port, opens a
// session on an httpmq started with the defaults (no authentication,
// loopback), receives the quick start's message and acks it.
func TestReadmeBrowserSnippet(t *testing.T) {
	testenv.Chromium(t)
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	admin := newClient(t, p.addr(t, "management"))
	dataAddr := p.addr(t, "dataplane")
	data := newClient(t, dataAddr)
	// The README's quick start: its stream, its consumer, its message.
	admin.do("POST", "/v1/admin/stream", seedStreamBody, 200)
	admin.do("POST", "/v1/admin/stream/testStream00/consumer", seedConsumerBody, 200)
	data.do("POST", "/v1/data/subject/test-subject.01", "SGVsbG8gV29ybGQK", 200) // echo 'Hello World' | base64

	snippet := readmeSnippet(t)
	require.Contains(t, snippet, "ws://127.0.0.1:3001/v1/session")
	snippet = strings.Replace(snippet, "127.0.0.1:3001", dataAddr, 1)
	logged := make(chan []any, 1)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log" {
			var args []any
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &args)
			select {
			case logged <- args:
			default:
			}
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// console.log reports to the page's server; errors are logged too.
		fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>httpmq README</title><script>
console.log = (...args) => fetch("/log", {method: "POST", body: JSON.stringify(args)});
window.onerror = (msg) => console.log("error", String(msg));
%s
ws.onclose = (ev) => console.log("closed", ev.code, ev.reason);
</script>`, snippet)
	}))
	defer page.Close()
	require.NotEqual(t, strings.TrimPrefix(page.URL, "http://"), dataAddr)

	output := testenv.OpenInChromium(t, page.URL+"/")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	select {
	case args := <-logged:
		require.Equal(t, []any{"test-subject.01", "Hello World\n"}, args, "what the snippet printed")
	case <-ctx.Done():
		t.Fatalf("the page printed nothing; chromium said:\n%s\nhttpmq said:\n%s", output(), p.stderr())
	}
	// Its ack reached JetStream.
	require.Eventually(t, func() bool {
		c := admin.do("GET", "/v1/admin/stream/testStream00/consumer/testConsumer00", "", 200)
		floor, _ := obj(t, c, "consumer")["ack_floor"].(map[string]any)
		return floor["stream_seq"] == 1.0
	}, 20*time.Second, 50*time.Millisecond, "the snippet's ack is recorded")
	assert.Nil(t, p.findLog("WebSocket handshake refused"))
	p.stop(t)
}
