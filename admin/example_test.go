package admin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
)

// ExampleNew mounts the management API next to other routes and defines
// the seed README's stream.
func ExampleNew() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "httpmq-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	nats, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: dir, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer nats.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bridge.Connect(ctx, bridge.Config{InProcess: nats, Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	mux := http.NewServeMux()
	mux.Handle("/v1/admin/", admin.New(admin.Options{Bridge: b, Logger: quiet}))
	srv := httptest.NewServer(mux) // in production: an http.Server on 127.0.0.1:3000
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/v1/admin/stream", "application/json",
		strings.NewReader(`{"name":"testStream00","max_age":300000000000,"subjects":["test-subject.00","test-subject.01"]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 200 OK application/json
}
