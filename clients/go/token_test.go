package httpmq_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// The REST clients call ClientOptions.Token for every request; its token
// replaces an Authorization of Header; a failure stops the request.
func TestClientToken(t *testing.T) {
	var seen atomic.Value
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		seen.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"stream":"S","sequence":1,"streams":{}}`))
	}))
	defer srv.Close()
	var n atomic.Int32
	tokens := func(context.Context) (string, error) {
		if n.Add(1) == 3 {
			return "", errors.New("no token today")
		}
		return "tok-" + string(rune('0'+n.Load())), nil
	}
	opts := &httpmq.ClientOptions{Token: tokens, Header: http.Header{"Authorization": {"Bearer static"}}}
	if _, err := httpmq.NewDataClient(srv.URL, opts).Publish(context.Background(), "s", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if got := seen.Load(); got != "Bearer tok-1" {
		t.Errorf("publish sent Authorization %q, want Bearer tok-1", got)
	}
	admin := httpmq.NewAdminClient(srv.URL, opts)
	if _, err := admin.Streams(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := seen.Load(); got != "Bearer tok-2" {
		t.Errorf("admin sent Authorization %q, want Bearer tok-2", got)
	}
	_, err := admin.Streams(context.Background())
	if !errors.Is(err, httpmq.ErrToken) {
		t.Errorf("a failing provider: err %v, want ErrToken", err)
	}
	if requests.Load() != 2 {
		t.Errorf("%d requests reached the server, want 2 (none without a token)", requests.Load())
	}
}
