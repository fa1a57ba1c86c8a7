package httpmq_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/protocol"
)

// TestAPIErrorKeepsEverything: every field of the error body reaches the
// *APIError.
func TestAPIErrorKeepsEverything(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"success":false,"request_id":"r-1","error":{"code":429,"reason":"rate_limited",` +
			`"message":"rate limited","detail":"too many publish messages","retryable":true,"retry_after":250000000}}`))
	}))
	defer srv.Close()
	_, err := httpmq.NewDataClient(srv.URL, nil).Publish(context.Background(), "a", []byte("x"), nil)
	var e *httpmq.APIError
	require.ErrorAs(t, err, &e)
	assert.Equal(t, &httpmq.APIError{Status: 429, Code: protocol.CodeRateLimited, Message: "rate limited",
		Detail: "too many publish messages", Retryable: true, RetryAfter: 250 * time.Millisecond, RequestID: "r-1"}, e)
	assert.ErrorIs(t, err, &protocol.Error{Code: protocol.CodeRateLimited})
}
