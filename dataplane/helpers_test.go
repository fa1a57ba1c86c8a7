package dataplane_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// protocols are the three ways clients reach the dataplane.
var protocols = []string{"http1", "h2-tls", "h2c"}

// serverTimeout is the ReadTimeout and WriteTimeout of every test server:
// subscription streams must outlive it.
const serverTimeout = time.Second

// server is a dataplane handler behind a real HTTP server.
type server struct {
	URL    string
	Client *http.Client
	// Proto is the HTTP major version requests must arrive with.
	Proto   int
	Handler *dataplane.Handler
}

// protoHeader reports, on every answer, the protocol the handler saw.
const protoHeader = "X-Test-Proto-Major"

// transportOf names the testenv transport of each protocol name.
var transportOf = map[string]testenv.Transport{"http1": testenv.HTTP1, "h2-tls": testenv.H2TLS, "h2c": testenv.H2C}

// serve starts h behind a server speaking proto; everything stops when the
// test ends.
func serve(t *testing.T, h *dataplane.Handler, proto string) *server {
	t.Helper()
	tr, ok := transportOf[proto]
	if !ok {
		t.Fatalf("unknown protocol %q", proto)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(protoHeader, strconv.Itoa(r.ProtoMajor))
		h.ServeHTTP(w, r)
	})
	ts := testenv.Serve(t, handler, tr, testenv.ServeOptions{Timeout: serverTimeout})
	s := &server{Handler: h, Proto: 2, URL: ts.URL, Client: ts.Client}
	if tr == testenv.HTTP1 {
		s.Proto = 1
	}
	t.Cleanup(func() { require.NoError(t, h.Close()) }) // before the server closes
	return s
}

// newDataplane starts JetStream, a dataplane on it and a server for
// proto.
func newDataplane(t *testing.T, proto string, opts dataplane.Options) (*testenv.Env, *server) {
	t.Helper()
	env := testenv.New(t, testenv.Options{RequestTimeout: 2 * time.Second})
	return env, serveBridge(t, env.Bridge, proto, opts)
}

// serveBridge serves a dataplane for b.
func serveBridge(t *testing.T, b *bridge.Bridge, proto string, opts dataplane.Options) *server {
	t.Helper()
	opts.Bridge = b
	if opts.Logger == nil {
		opts.Logger = testenv.Logger()
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 100 * time.Millisecond
	}
	return serve(t, dataplane.New(opts), proto)
}

// answer is any envelope the dataplane answers with.
type answer struct {
	Status    int             `json:"-"`
	Success   bool            `json:"success"`
	RequestID string          `json:"request_id"`
	Error     *protocol.Error `json:"error"`
	dataplane.PublishResult
}

// code is the error reason of a failed answer, "" for success.
func (a answer) code() protocol.Code {
	if a.Error == nil {
		return ""
	}
	return a.Error.Code
}

// do sends a request and decodes the answer, checking the protocol.
func (s *server) do(t *testing.T, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	var a answer
	resp, raw := s.send(t, method, path, body, header, &a)
	a.Status = resp.StatusCode
	require.Equal(t, a.Success, a.Error == nil, "%s", raw)
	if a.Error != nil {
		require.Equal(t, resp.StatusCode, a.Error.Status, "error.code is the HTTP status: %s", raw)
	}
	require.NotEmpty(t, a.RequestID)
	require.Equal(t, a.RequestID, resp.Header.Get("Httpmq-Request-ID"))
	return a
}

// send makes a request, checks its protocol and that the answer is JSON,
// and decodes it into v.
func (s *server) send(t *testing.T, method, path string, body []byte, header http.Header, v any) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testenv.Context(t), method, s.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	s.checkProto(t, resp)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s: %s", method, path, raw)
	require.NoError(t, json.Unmarshal(raw, v), "%s", raw)
	return resp, raw
}

func (s *server) checkProto(t *testing.T, resp *http.Response) {
	t.Helper()
	require.Equal(t, s.Proto, resp.ProtoMajor, "client side protocol")
	require.Equal(t, strconv.Itoa(s.Proto), resp.Header.Get(protoHeader), "server side protocol")
}

// publish publishes base64 text and requires success.
func (s *server) publish(t *testing.T, subject, b64 string) dataplane.PublishResult {
	t.Helper()
	a := s.do(t, http.MethodPost, "/v1/data/subject/"+subject, []byte(b64), http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusOK, a.Status, "publish: %+v", a.Error)
	return a.PublishResult
}

// ack sends an acknowledgement of kind route ("ack", "nak", ...).
func (s *server) ack(t *testing.T, route, stream, consumer string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return s.do(t, http.MethodPost, "/v1/data/stream/"+stream+"/consumer/"+consumer+"/"+route, b, nil)
}

// ackOK acknowledges d and requires success.
func (s *server) ackOK(t *testing.T, d dataplane.Delivery) {
	t.Helper()
	a := s.ack(t, "ack", d.Stream, d.Consumer, dataplane.AckRequest{Consumer: d.Sequence.Consumer, Stream: d.Sequence.Stream})
	require.Equal(t, http.StatusOK, a.Status, "ack %+v: %+v", d.Sequence, a.Error)
}

// tryAck acknowledges d; unlike ackOK it may run outside the test
// goroutine.
func (s *server) tryAck(d dataplane.Delivery) error {
	body, err := json.Marshal(dataplane.AckRequest{Consumer: d.Sequence.Consumer, Stream: d.Sequence.Stream})
	if err != nil {
		return err
	}
	resp, err := s.Client.Post(s.URL+"/v1/data/stream/"+d.Stream+"/consumer/"+d.Consumer+"/ack", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ack %+v: %d %s", d.Sequence, resp.StatusCode, raw)
	}
	return nil
}

// subscription is a client reading a subscription stream line by line.
type subscription struct {
	resp   *http.Response
	lines  chan []byte
	cancel context.CancelFunc
	done   chan struct{}
}

// subscribe opens a subscription stream and requires 200.
func (s *server) subscribe(t *testing.T, path string, header http.Header) *subscription {
	t.Helper()
	sub, a := s.trySubscribe(t, path, header)
	require.NotNil(t, sub, "subscribe %s: %d %+v", path, a.Status, a.Error)
	return sub
}

// trySubscribe opens a subscription stream, or returns the error answer.
func (s *server) trySubscribe(t *testing.T, path string, header http.Header) (*subscription, answer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	s.checkProto(t, resp)
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		var a answer
		raw, _ := io.ReadAll(resp.Body)
		require.NoError(t, json.Unmarshal(raw, &a), "%s", raw)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		a.Status = resp.StatusCode
		return nil, a
	}
	sub := &subscription{resp: resp, lines: make(chan []byte), cancel: cancel, done: make(chan struct{})}
	go sub.read(ctx)
	t.Cleanup(sub.close)
	return sub, answer{Status: resp.StatusCode}
}

func (s *subscription) read(ctx context.Context) {
	defer close(s.done)
	defer close(s.lines)
	r := bufio.NewReaderSize(s.resp.Body, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			select {
			case s.lines <- line:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close disconnects and waits for the reader.
func (s *subscription) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// line returns the next raw line (heartbeat blanks included).
func (s *subscription) line(t *testing.T) []byte {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		require.True(t, ok, "the stream ended")
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
	}
	return nil
}

// next returns the next delivery, requiring success.
func (s *subscription) next(t *testing.T) dataplane.Delivery {
	t.Helper()
	l := s.line(t)
	var d dataplane.Delivery
	require.NoError(t, json.Unmarshal(l, &d), "%s", l)
	require.True(t, d.Success, "%s", l)
	return d
}

// final returns the final error line and requires the stream to end.
func (s *subscription) final(t *testing.T) answer {
	t.Helper()
	l := s.line(t)
	var a answer
	require.NoError(t, json.Unmarshal(l, &a), "%s", l)
	require.False(t, a.Success, "%s", l)
	require.NotNil(t, a.Error, "%s", l)
	select {
	case l, ok := <-s.lines:
		require.False(t, ok, "line after the final one: %s", l)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after its final line")
	}
	return a
}

// none requires that no line arrives within d.
func (s *subscription) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		require.False(t, ok, "unexpected line: %s", l)
		t.Fatal("the stream ended")
	case <-time.After(d):
	}
}

// createStream defines a stream on subjects.
func createStream(t *testing.T, b *bridge.Bridge, name string, subjects ...string) {
	t.Helper()
	_, err := b.CreateStream(testenv.Context(t), bridge.StreamConfig{Name: name, Subjects: subjects})
	require.NoError(t, err)
}

// createConsumer defines a consumer.
func createConsumer(t *testing.T, b *bridge.Bridge, stream string, c bridge.ConsumerConfig) {
	t.Helper()
	_, err := b.CreateConsumer(testenv.Context(t), stream, c)
	require.NoError(t, err)
}

// publishN publishes n messages "m<i>" straight through the bridge.
func publishN(t *testing.T, b *bridge.Bridge, subject string, n int) {
	t.Helper()
	ctx := testenv.Context(t)
	for i := range n {
		_, err := b.Publish(ctx, bridge.Message{Subject: subject, Data: []byte("m" + strconv.Itoa(i))})
		require.NoError(t, err)
	}
}
