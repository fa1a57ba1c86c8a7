package gosdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/internal/testenv"
)

// exampleServer starts a real httpmq in-process for the examples and
// returns its base URL and a stop function. A program would use the URL
// of its httpmq deployment instead: http://127.0.0.1:3000 (management)
// and http://127.0.0.1:3001 (dataplane and sessions) by default.
func exampleServer() (string, func()) {
	dir, err := os.MkdirTemp("", "httpmq-example-")
	if err != nil {
		log.Fatal(err)
	}
	tb := &exampleTB{dir: dir}
	s := &server{env: testenv.New(tb, testenv.Options{Dir: dir})}
	h, shutdown := s.handler(s.env)
	ts := httptest.NewServer(h)
	return ts.URL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown(ctx)
		ts.Close()
		tb.cleanup()
		_ = os.RemoveAll(dir)
	}
}

func Example() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Define a stream and a consumer.
	admin := httpmq.NewAdminClient(url, nil)
	if _, err := admin.CreateStream(ctx, httpmq.NewStream{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		log.Fatal(err)
	}
	if _, err := admin.CreateConsumer(ctx, "ORDERS", httpmq.NewConsumer{Name: "worker", Mode: httpmq.ModePull}); err != nil {
		log.Fatal(err)
	}

	// One session for publishing and subscribing.
	s, err := httpmq.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ack, err := s.Publish(ctx, "orders.eu", []byte("order 1"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored in", ack.Stream, "at", ack.Sequence)

	sub, err := s.Subscribe(ctx, "ORDERS", "worker", nil)
	if err != nil {
		log.Fatal(err)
	}
	for m := range sub.Messages() {
		fmt.Printf("%s: %s\n", m.Subject, m.Data)
		if err := m.Ack(ctx); err != nil {
			log.Fatal(err)
		}
		break
	}
	// Output:
	// stored in ORDERS at 1
	// orders.eu: order 1
}

func Example_dataClient() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := httpmq.NewAdminClient(url, nil)
	if _, err := admin.CreateStream(ctx, httpmq.NewStream{Name: "logs"}); err != nil {
		log.Fatal(err)
	}
	if _, err := admin.CreateConsumer(ctx, "logs", httpmq.NewConsumer{Name: "reader", Mode: httpmq.ModePush}); err != nil {
		log.Fatal(err)
	}

	data := httpmq.NewDataClient(url, nil)
	if _, err := data.Publish(ctx, "logs", []byte("hello"), &httpmq.PublishOptions{MsgID: "line-1"}); err != nil {
		log.Fatal(err)
	}
	sub, err := data.Subscribe(ctx, "logs", "reader", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	m, err := sub.Next(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (message id %s)\n", m.Data, m.Header.Get("Nats-Msg-Id"))
	if err := m.Ack(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: hello (message id line-1)
}

func Example_publishBatch() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := httpmq.NewAdminClient(url, nil)
	if _, err := admin.CreateStream(ctx, httpmq.NewStream{Name: "events", Subjects: []string{"events.>"}}); err != nil {
		log.Fatal(err)
	}

	data := httpmq.NewDataClient(url, nil)
	results, err := data.PublishBatch(ctx, []httpmq.BatchMessage{
		{Subject: "events.signup", Data: []byte(`{"user":1}`), MsgID: "signup-1"},
		{Subject: "elsewhere", Data: []byte("no stream captures this subject")},
		{Subject: "events.login", Data: []byte(`{"user":1}`)},
	})
	if err != nil {
		log.Fatal(err) // the request as a whole failed
	}
	for _, r := range results {
		if apiErr, ok := errors.AsType[*httpmq.APIError](r.Err); ok {
			fmt.Println("refused:", apiErr.Code)
			continue
		}
		fmt.Println("stored at", r.Sequence)
	}
	// Output:
	// stored at 1
	// refused: no_stream_for_subject
	// stored at 2
}

func Example_apiError() {
	url, stop := exampleServer()
	defer stop()
	admin := httpmq.NewAdminClient(url, nil)
	_, err := admin.Stream(context.Background(), "missing")
	if apiErr, ok := errors.AsType[*httpmq.APIError](err); ok {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output: 404 stream_not_found
}

func Example_reconnect() {
	url, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := httpmq.Dial(ctx, url, &httpmq.SessionOptions{
		// More servers to fail over to, in turn.
		Servers: []string{strings.Replace(url, "127.0.0.1", "localhost", 1)},
		// Publishes cut by a reconnection are sent again (de-duplicated
		// by a generated message id) instead of failing.
		RetryPublishes: true,
		OnEvent: func(e httpmq.Event) {
			log.Printf("httpmq session: %s %s %v", e.Kind, e.URL, e.Err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(s.Hello().Transport)
	// Output: http/1.1
}

// exampleTB lets the examples use testenv outside a test: it implements
// the few testing.TB methods testenv calls.
type exampleTB struct {
	testing.TB
	dir      string
	cleanups []func()
}

func (*exampleTB) Helper()                           {}
func (e *exampleTB) TempDir() string                 { return e.dir }
func (*exampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (e *exampleTB) Cleanup(f func())                { e.cleanups = append(e.cleanups, f) }

func (e *exampleTB) cleanup() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}
