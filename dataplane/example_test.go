package dataplane_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
)

// Example publishes, subscribes and acknowledges over the REST dataplane,
// against an embedded JetStream.
func Example() {
	quiet := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "httpmq-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	js, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: dir, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer js.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bridge.Connect(ctx, bridge.Config{InProcess: js, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateStream(ctx, bridge.StreamConfig{Name: "greetings", Subjects: []string{"greetings.*"}}); err != nil {
		log.Fatal(err)
	}
	if _, err := b.CreateConsumer(ctx, "greetings", bridge.ConsumerConfig{Name: "reader", Push: true}); err != nil {
		log.Fatal(err)
	}

	h := dataplane.New(dataplane.Options{Bridge: b, Logger: quiet})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close() // ends subscription streams before the server closes

	// Publish: the body is base64 ("Hello World\n") unless the client says
	// Httpmq-Body-Encoding: raw.
	resp, err := http.Post(srv.URL+"/v1/data/subject/greetings.en", "text/plain", strings.NewReader("SGVsbG8gV29ybGQK"))
	if err != nil {
		log.Fatal(err)
	}
	var pub dataplane.PublishResult
	if err := json.NewDecoder(resp.Body).Decode(&pub); err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Printf("published: %d %+v\n", resp.StatusCode, pub)

	// Subscribe: one JSON object per line, until the client leaves.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/data/stream/greetings/consumer/reader", nil)
	if err != nil {
		log.Fatal(err)
	}
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(stream.Body).ReadBytes('\n')
	if err != nil {
		log.Fatal(err)
	}
	var d dataplane.Delivery
	if err := json.Unmarshal(line, &d); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("received: %s %+v %q\n", d.Subject, d.Sequence, d.B64Msg)

	// Acknowledge with the sequences the message came with, through any
	// instance.
	ack, err := json.Marshal(dataplane.AckRequest{Consumer: d.Sequence.Consumer, Stream: d.Sequence.Stream})
	if err != nil {
		log.Fatal(err)
	}
	resp, err = http.Post(srv.URL+"/v1/data/stream/greetings/consumer/reader/ack", "application/json", strings.NewReader(string(ack)))
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("acked:", resp.StatusCode)

	cancel() // leave the subscription
	stream.Body.Close()
	// Output:
	// published: 200 {Stream:greetings Sequence:1 Duplicate:false}
	// received: greetings.en {Stream:1 Consumer:1} "Hello World\n"
	// acked: 200
}
