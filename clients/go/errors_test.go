package httpmq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	want := &httpmq.APIError{Status: 429, Code: protocol.CodeRateLimited, Message: "rate limited",
		Detail: "too many publish messages", Retryable: true, RetryAfter: 250 * time.Millisecond, RequestID: "r-1"}
	if *e != *want {
		t.Errorf("got %+v, want %+v", *e, *want)
	}
	if !errors.Is(err, &protocol.Error{Code: protocol.CodeRateLimited}) {
		t.Errorf("errors.Is(%v, rate_limited) is false", err)
	}
}
