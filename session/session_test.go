package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

// TestMatrix runs the session's whole command set over every transport
// and both framings, checking which protocol the handshake really used.
func TestMatrix(t *testing.T) {
	for _, tr := range transports {
		for _, sp := range protocol.Subprotocols() {
			t.Run(string(tr)+"/"+sp, func(t *testing.T) {
				env := testenv.New(t, testenv.Options{})
				stream(t, env.Bridge, "S", "s.>")
				consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
				srv := startServer(t, tr, session.Options{Broker: env.Bridge})
				c := dial(t, srv, sp)
				assert.Equal(t, protocol.Version, c.hello.Version)
				assert.NotEmpty(t, c.hello.Session)

				c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "a", Stream: "S", Consumer: "c", MaxInflight: 10})
				payload := []byte{0, 1, 2, 255, 'x'}
				p := c.ok(&protocol.Frame{Type: protocol.TypePublish, ID: "2", Subject: "s.one", Data: payload, MsgID: "m-1",
					Headers: protocol.Header{"Trace": {"t1"}}})
				assert.Equal(t, "S", p.Stream)
				assert.Equal(t, uint64(1), p.Seq)
				assert.False(t, p.Duplicate)
				p = c.ok(&protocol.Frame{Type: protocol.TypePublish, ID: "3", Subject: "s.one", Data: payload, MsgID: "m-1"})
				assert.True(t, p.Duplicate, "same msg_id is de-duplicated")

				m := c.next()
				assert.Equal(t, "a", m.Sub)
				assert.Equal(t, "s.one", m.Subject)
				assert.Equal(t, payload, m.Data)
				assert.Equal(t, []string{"t1"}, m.Headers["Trace"])
				assert.Equal(t, uint64(1), m.StreamSeq)
				assert.Equal(t, uint64(1), m.Deliveries)
				assert.NotZero(t, m.Time)

				ack := func(typ protocol.FrameType, id string, m *protocol.Frame) *protocol.Frame {
					return &protocol.Frame{Type: typ, ID: id, Stream: m.Stream, Consumer: m.Consumer,
						StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq, Deliveries: m.Deliveries}
				}
				c.ok(ack(protocol.TypeProgress, "4", m))
				c.ok(ack(protocol.TypeNak, "5", m))
				m2 := c.next()
				assert.Equal(t, uint64(1), m2.StreamSeq)
				assert.Equal(t, uint64(2), m2.Deliveries)
				assert.Greater(t, m2.ConsumerSeq, m.ConsumerSeq)
				c.fails(ack(protocol.TypeAck, "6", m), protocol.CodeAckNotPending) // the nak'ed delivery
				assert.False(t, c.ok(ack(protocol.TypeAck, "7", m2)).Duplicate)
				assert.True(t, c.ok(ack(protocol.TypeAck, "7b", m2)).Duplicate, "a retried ack")

				c.ok(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "8", Sub: "a"})
				c.fails(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "9", Sub: "a"}, protocol.CodeSubscriptionNotFound)
				pong, _ := c.call(&protocol.Frame{Type: protocol.TypePing, ID: "10"})
				assert.Equal(t, protocol.TypePong, pong.Type)

				want := map[transport]string{http1: "GET HTTP/1.1", h2tls: "CONNECT HTTP/2.0", h2c: "CONNECT HTTP/2.0"}[tr]
				assert.Equal(t, []string{want}, srv.seen())
			})
		}
	}
}

func TestCommandErrors(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s.>")
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge, MaxSubscriptions: 2})
	c := dial(t, srv, protocol.SubprotocolJSON)

	c.sendRaw([]byte(`{"type":"subscribe","id":"x",`))
	assert.Equal(t, protocol.CodeMalformedFrame, protocol.Code(c.recv().Reason))
	c.sendRaw([]byte(`{"type":"dance","id":"y"}`))
	r := c.recv()
	assert.Equal(t, protocol.CodeUnknownFrameType, protocol.Code(r.Reason))
	c.sendRaw([]byte(`{"type":"msg","id":"z","sub":"a"}`))
	assert.Equal(t, protocol.TypeError, c.recv().Type, "server frames are not commands")

	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "a"}, protocol.CodeBadRequest)
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "2", Sub: "a", Stream: "nope", Consumer: "c"}, protocol.CodeStreamNotFound)
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "3", Sub: "a", Stream: "S", Consumer: "nope"}, protocol.CodeConsumerNotFound)
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "4", Sub: "a", Stream: "S", Consumer: "c", Group: "g"}, protocol.CodeDeliverGroupMismatch)
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "5", Sub: "a", Stream: "S", Consumer: "c"})
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "6", Sub: "a", Stream: "S", Consumer: "c"}, protocol.CodeSubscriptionExists)
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "7", Sub: "b", Stream: "S", Consumer: "c"})
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "8", Sub: "c", Stream: "S", Consumer: "c"}, protocol.CodeTooManySubscriptions)
	c.fails(&protocol.Frame{Type: protocol.TypePublish, ID: "9", Subject: "nobody.home", Data: []byte("x")}, protocol.CodeNoStreamForSubject)
	c.fails(&protocol.Frame{Type: protocol.TypePublish, ID: "10", Subject: "s.*", Data: []byte("x")}, protocol.CodeInvalidSubject)
	c.fails(&protocol.Frame{Type: protocol.TypePublish, ID: "11", Subject: "s.big", Data: make([]byte, 1<<20+1)}, protocol.CodePayloadTooLarge)
	c.fails(&protocol.Frame{Type: protocol.TypeAck, ID: "12", Stream: "S", Consumer: "c", StreamSeq: 5, ConsumerSeq: 5}, protocol.CodeAckNotPending)
	// A fire-and-forget ack that fails still gets an error frame, without id.
	c.send(&protocol.Frame{Type: protocol.TypeAck, Stream: "S.x", Consumer: "c", StreamSeq: 5, ConsumerSeq: 5})
	assert.Equal(t, protocol.CodeInvalidName, protocol.Code(c.recv().Reason))

	// The session survived all of it.
	pong, _ := c.call(&protocol.Frame{Type: protocol.TypePing, ID: "13"})
	assert.Equal(t, protocol.TypePong, pong.Type)

	// The consumer goes away: the subscriptions end with a closed frame.
	require.NoError(t, env.Bridge.DeleteConsumer(testenv.Context(t), "S", "c"))
	closed := map[string]protocol.Code{}
	for len(closed) < 2 {
		f := c.recv()
		if f.Type == protocol.TypeClosed {
			closed[f.Sub] = f.Err().Code
		}
	}
	assert.Equal(t, map[string]protocol.Code{"a": protocol.CodeConsumerNotFound, "b": protocol.CodeConsumerNotFound}, closed)
}

func TestProtocolViolations(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, http1, session.Options{Broker: env.Bridge, MaxFrameBytes: 1024})

	t.Run("binary on JSON", func(t *testing.T) {
		c := dial(t, srv, protocol.SubprotocolJSON)
		c.codec = protocol.MsgpackCodec{}
		c.send(&protocol.Frame{Type: protocol.TypePing, ID: "1"})
		assert.Equal(t, int(protocol.CloseProtocolError), int(c.closed()))
	})
	t.Run("too big", func(t *testing.T) {
		c := dial(t, srv, protocol.SubprotocolMsgpack)
		c.send(&protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Data: make([]byte, 2048)})
		assert.Equal(t, int(protocol.CloseMessageTooBig), int(c.closed()))
	})
}

func TestShutdownSaysGoingAway(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge})
	c := dial(t, srv, protocol.SubprotocolJSON)
	go func() { _ = srv.Shutdown(testenv.Context(t)) }()
	assert.Equal(t, int(protocol.CloseGoingAway), int(c.closed()))
	testenv.Eventually(t, "sessions gone", func() bool { return srv.Sessions() == 0 })
}

func TestIdlePeerIsClosed(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, http1, session.Options{Broker: env.Bridge, PingInterval: 50 * time.Millisecond})
	c := dial(t, srv, protocol.SubprotocolJSON)
	// Not reading means not answering pings; the server gives up.
	testenv.Eventually(t, "session closed", func() bool { return srv.Sessions() == 0 })
	assert.Equal(t, int(protocol.CloseIdleTimeout), int(c.closed()))
}

// TestManySubscriptions holds 1,000 subscriptions on one session, all on
// one push consumer's delivery group, and receives every message once.
func TestManySubscriptions(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s")
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true, DeliverGroup: "g", AckWait: time.Minute})
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge})
	c := dial(t, srv, protocol.SubprotocolMsgpack)
	const subs, msgs = 1000, 200
	for i := range subs {
		c.send(&protocol.Frame{Type: protocol.TypeSubscribe, ID: fmt.Sprint(i), Sub: fmt.Sprint("sub", i), Stream: "S", Consumer: "c", MaxInflight: 1})
	}
	for range subs {
		require.Equal(t, protocol.TypeOK, c.recv().Type)
	}
	for i := range msgs {
		_, err := env.Bridge.Publish(testenv.Context(t), bridge.Message{Subject: "s", Data: fmt.Append(nil, i)})
		require.NoError(t, err)
	}
	seen := map[uint64]bool{}
	for len(seen) < msgs {
		m := c.next()
		require.False(t, seen[m.StreamSeq], "duplicate delivery of %d", m.StreamSeq)
		seen[m.StreamSeq] = true
		c.send(&protocol.Frame{Type: protocol.TypeAck, Stream: "S", Consumer: "c", StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq})
	}
}

func TestTooManySessions(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, http1, session.Options{Broker: env.Bridge, MaxSessions: 1})
	dial(t, srv, protocol.SubprotocolJSON)
	_, resp, err := websocketDial(srv.URL, protocol.SubprotocolJSON)
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, 503, resp.StatusCode)
	_, resp, err = websocketDial(srv.URL, "chat")
	require.Error(t, err)
	assert.Equal(t, 400, resp.StatusCode)
}

// TestNoDeliveryAfterUnsubscribe: once unsubscribe is answered, no msg of
// that subscription follows, even with deliveries in full flow.
func TestNoDeliveryAfterUnsubscribe(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s")
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	for i := range 500 {
		_, err := env.Bridge.Publish(testenv.Context(t), bridge.Message{Subject: "s", Data: fmt.Append(nil, i)})
		require.NoError(t, err)
	}
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge, MaxQueuedBytes: 64 << 10})
	c := dial(t, srv, protocol.SubprotocolMsgpack)
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "a", Stream: "S", Consumer: "c", MaxInflight: 500})
	c.next()
	c.send(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "2", Sub: "a"})
	c.send(&protocol.Frame{Type: protocol.TypePing, ID: "3"})
	unsubscribed := false
	for {
		f := c.recv()
		switch {
		case f.Type == protocol.TypeOK && f.ID == "2":
			unsubscribed = true
		case f.Type == protocol.TypeMsg:
			require.False(t, unsubscribed, "msg %d after the unsubscribe's ok", f.StreamSeq)
		case f.Type == protocol.TypePong:
			require.True(t, unsubscribed)
			return
		}
	}
}

// TestAckThroughAnotherInstance: a message delivered by one httpmq
// instance is acked over a session on another (each with its own bridge
// to the same JetStream); the first instance's subscription gets its
// credit back, as it learns of the ack from JetStream.
func TestAckThroughAnotherInstance(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s")
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	one := startServer(t, h2c, session.Options{Broker: env.Bridge})
	two := startServer(t, http1, session.Options{Broker: testenv.Connect(t, env.Server, 0)})
	a := dial(t, one, protocol.SubprotocolJSON)
	b := dial(t, two, protocol.SubprotocolMsgpack)

	a.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "x", Stream: "S", Consumer: "c", MaxInflight: 1})
	for i := range 2 {
		_, err := env.Bridge.Publish(testenv.Context(t), bridge.Message{Subject: "s", Data: fmt.Append(nil, i)})
		require.NoError(t, err)
	}
	m := a.next()
	assert.Equal(t, uint64(1), m.StreamSeq)
	b.ok(&protocol.Frame{Type: protocol.TypeAck, ID: "2", Stream: m.Stream, Consumer: m.Consumer,
		StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq})
	// With max_inflight 1, the second message comes only once the ack
	// made on the other instance has been seen.
	assert.Equal(t, uint64(2), a.next().StreamSeq)
}

// TestAcksOfOneMessageStayInOrder: fire-and-forget progress then nak of
// the same message reach JetStream in that order, so each message comes
// again at once, not after the (long) ack wait a late progress would
// have restarted.
func TestAcksOfOneMessageStayInOrder(t *testing.T) {
	const n = 30
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s")
	consumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	srv := startServer(t, h2c, session.Options{Broker: env.Bridge})
	c := dial(t, srv, protocol.SubprotocolMsgpack)
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "x", Stream: "S", Consumer: "c", MaxInflight: n})
	for i := range n {
		_, err := env.Bridge.Publish(testenv.Context(t), bridge.Message{Subject: "s", Data: fmt.Append(nil, i)})
		require.NoError(t, err)
	}
	for range n {
		m := c.next()
		require.Equal(t, uint64(1), m.Deliveries)
		for _, typ := range []protocol.FrameType{protocol.TypeProgress, protocol.TypeNak} {
			c.send(&protocol.Frame{Type: typ, Stream: m.Stream, Consumer: m.Consumer, StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq})
		}
	}
	again := map[uint64]bool{}
	for len(again) < n {
		m := c.next() // within next's deadline, far below the ack wait
		require.Equal(t, uint64(2), m.Deliveries, "%+v", m)
		again[m.StreamSeq] = true
	}
}
