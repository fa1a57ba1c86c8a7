package httpx_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestBodyTimeoutLiftedAfterBody: once the body has arrived, the handler
// may take longer than the body timeout: the request's context is not
// cancelled and the answer goes out, over every transport.
// The slow-body cases themselves are TestSlowBodiesAreCut (cmd/httpmq),
// over both listeners and protocols.
func TestBodyTimeoutLiftedAfterBody(t *testing.T) {
	const d = 200 * time.Millisecond
	h := httpx.WithBodyTimeout(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		case <-time.After(3 * d): // the bound under test: outlive it
			_, _ = w.Write(b)
		}
	}), d)
	for _, tr := range testenv.Transports {
		ts := testenv.Serve(t, h, tr, testenv.ServeOptions{})
		resp, err := ts.Client.Post(ts.URL, "text/plain", strings.NewReader("body"))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", tr, b)
		assert.Equal(t, "body", string(b), tr)
	}
}
