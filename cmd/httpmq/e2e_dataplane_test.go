package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/clients/go/h2ws"
	"github.com/httpmq/httpmq/protocol"
)

// line is one message line of a REST subscription, with the seed's fields.
type line struct {
	Success  bool   `json:"success"`
	Stream   string `json:"stream"`
	Subject  string `json:"subject"`
	Consumer string `json:"consumer"`
	Sequence struct {
		Stream   uint64 `json:"stream"`
		Consumer uint64 `json:"consumer"`
	} `json:"sequence"`
	B64Msg string `json:"b64_msg"`
}

// TestServeSeedDataplaneWalkthrough runs the seed's dataplane walk-through
// against the binary: publish base64, subscribe with HTTP/2 prior
// knowledge (curl --http2-prior-knowledge), ack, redelivery after the ack
// wait with a higher consumer sequence, ack of the redelivery.
func TestServeSeedDataplaneWalkthrough(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(),
		"--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	admin := newClient(t, p.addr(t, "management"))
	data := newClient(t, p.addr(t, "dataplane"))
	admin.do("POST", "/v1/admin/stream", seedStreamBody, 200)
	admin.do("POST", "/v1/admin/stream/testStream00/consumer",
		`{"max_inflight": 4, "mode": "push", "name": "testConsumer00", "filter_subject": "test-subject.01", "ack_wait": 1000000000}`, 200)

	// curl --http2-prior-knowledge
	h2c := h2ws.NewTransport(nil, true) // plain requests go out as HTTP/2 too
	defer h2c.CloseIdleConnections()
	h2cClient := &http.Client{Transport: h2c}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", data.base+
		"/v1/data/stream/testStream00/consumer/testConsumer00?subject_name=test-subject.01", nil)
	require.NoError(t, err)
	resp, err := h2cClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 2, resp.ProtoMajor)
	lines := bufio.NewScanner(resp.Body)
	next := func() line {
		t.Helper()
		for lines.Scan() {
			if strings.TrimSpace(lines.Text()) == "" {
				continue // heartbeat
			}
			var l line
			require.NoError(t, json.Unmarshal(lines.Bytes(), &l), lines.Text())
			return l
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return line{}
	}

	hello := base64.StdEncoding.EncodeToString([]byte("Hello World\n"))
	pub := data.do("POST", "/v1/data/subject/test-subject.01", hello, 200)
	assert.Equal(t, true, pub["success"])

	first := next()
	assert.Equal(t, line{Success: true, Stream: "testStream00", Subject: "test-subject.01", Consumer: "testConsumer00",
		B64Msg: "SGVsbG8gV29ybGQK"}, withoutSeq(first))
	assert.Equal(t, uint64(1), first.Sequence.Stream)
	assert.Equal(t, uint64(1), first.Sequence.Consumer)

	// Not acknowledged: it comes again after the ack wait.
	again := next()
	assert.Equal(t, uint64(1), again.Sequence.Stream)
	assert.Equal(t, uint64(2), again.Sequence.Consumer)
	data.do("POST", "/v1/data/stream/testStream00/consumer/testConsumer00/ack", `{"consumer": 2,"stream": 1}`, 200)
	// The same ack again is a retry: success, marked duplicate; a nak of
	// the acked delivery does not count and says so.
	res := data.do("POST", "/v1/data/stream/testStream00/consumer/testConsumer00/ack", `{"consumer": 2,"stream": 1}`, 200)
	assert.Equal(t, true, res["duplicate"])
	data.do("POST", "/v1/data/stream/testStream00/consumer/testConsumer00/nak", `{"consumer": 2,"stream": 1}`, 409)
	cancel()
	p.stop(t)
}

func withoutSeq(l line) line {
	l.Sequence.Stream, l.Sequence.Consumer = 0, 0
	return l
}

// TestServeSessions opens WebSocket sessions on the binary's dataplane
// listener, over h2c (extended CONNECT) and HTTP/1.1, publishes through
// one and receives through the other.
func TestServeSessions(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(),
		"--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	admin := newClient(t, p.addr(t, "management"))
	addr := p.addr(t, "dataplane")
	admin.do("POST", "/v1/admin/stream", `{"name":"orders","subjects":["orders.>"]}`, 200)
	admin.do("POST", "/v1/admin/stream/orders/consumer", `{"name":"shipping","mode":"pull"}`, 200)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	h2 := h2ws.NewTransport(nil, true)
	defer h2.CloseIdleConnections()
	sub, _, err := websocket.Dial(ctx, "ws://"+addr+"/v1/session", &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: h2}, Subprotocols: []string{protocol.SubprotocolMsgpack}})
	require.NoError(t, err)
	defer sub.CloseNow()
	pub, _, err := websocket.Dial(ctx, "ws://"+addr+"/v1/session", &websocket.DialOptions{
		Subprotocols: []string{protocol.SubprotocolJSON}})
	require.NoError(t, err)
	defer pub.CloseNow()

	exchange := func(c *websocket.Conn, f *protocol.Frame, want protocol.FrameType) *protocol.Frame {
		t.Helper()
		codec, _ := protocol.CodecFor(c.Subprotocol())
		if f != nil {
			b, err := codec.Encode(f)
			require.NoError(t, err)
			typ := websocket.MessageText
			if codec.Binary() {
				typ = websocket.MessageBinary
			}
			require.NoError(t, c.Write(ctx, typ, b))
		}
		for {
			_, b, err := c.Read(ctx)
			require.NoError(t, err)
			var found *protocol.Frame
			protocol.Frames(codec, b, func(r *protocol.Frame, err error) {
				require.NoError(t, err)
				require.NotEqual(t, protocol.TypeError, r.Type, "%+v", r)
				if r.Type == want && found == nil {
					found = r
				}
			})
			if found != nil {
				return found
			}
		}
	}
	exchange(sub, nil, protocol.TypeHello)
	exchange(pub, nil, protocol.TypeHello)
	exchange(sub, &protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "s", Stream: "orders", Consumer: "shipping"}, protocol.TypeOK)
	ok := exchange(pub, &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "orders.42", Data: []byte("book")}, protocol.TypeOK)
	assert.Equal(t, uint64(1), ok.Seq)
	m := exchange(sub, nil, protocol.TypeMsg)
	assert.Equal(t, "orders.42", m.Subject)
	assert.Equal(t, []byte("book"), m.Data)
	exchange(sub, &protocol.Frame{Type: protocol.TypeAck, ID: "2", Stream: m.Stream, Consumer: m.Consumer,
		StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq}, protocol.TypeOK)

	// Shutdown tells sessions to go elsewhere.
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	_, _, err = sub.Read(ctx)
	assert.Equal(t, websocket.StatusCode(protocol.CloseGoingAway), websocket.CloseStatus(err), "%v", err)
	p.wait(t, 0)
}
