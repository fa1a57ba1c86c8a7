package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

// TestLive: a session subscribes to a subject, recovering from a
// sequence, then gets the live messages; the same subject on another
// session shares the feed; unsubscribe stops it.
func TestLive(t *testing.T) {
	for _, sp := range []string{protocol.SubprotocolJSON, protocol.SubprotocolMsgpack} {
		t.Run(sp, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			b := env.Bridge
			srv := startServer(t, h2c, session.Options{Broker: b})
			stream(t, b, "P", "prices.>")
			for i := range 10 {
				_, err := b.Publish(testenv.Context(t), bridge.Message{Subject: "prices.eur", Data: fmt.Appendf(nil, "%d", i+1)})
				require.NoError(t, err)
			}
			c := dial(t, srv, sp)
			ok := c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "p", Subject: "prices.*", FromSeq: 8})
			assert.Equal(t, "P", ok.Stream)
			assert.True(t, ok.Recovered)
			for seq := uint64(8); seq <= 10; seq++ {
				m := c.next()
				assert.Equal(t, seq, m.StreamSeq)
				assert.Equal(t, "p", m.Sub)
				assert.Equal(t, "prices.eur", m.Subject)
				assert.Empty(t, m.Consumer)
				assert.Equal(t, fmt.Sprint(seq), string(m.Data))
			}
			// Sessions of both codecs share the message, encoded once per
			// codec: each gets it with its own subscription id.
			other := dial(t, srv, sp)
			other.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "q", Subject: "prices.*"})
			otherCodec := protocol.SubprotocolMsgpack
			if sp == otherCodec {
				otherCodec = protocol.SubprotocolJSON
			}
			third := dial(t, srv, otherCodec)
			third.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: `r "3"`, Subject: "prices.>"})
			pub := c.ok(&protocol.Frame{Type: protocol.TypePublish, ID: "2", Subject: "prices.usd", Data: []byte("live")})
			for cl, sub := range map[*client]string{c: "p", other: "q", third: `r "3"`} {
				m := cl.next()
				assert.Equal(t, sub, m.Sub)
				assert.Equal(t, pub.Seq, m.StreamSeq)
				assert.Equal(t, "prices.usd", m.Subject)
				assert.Equal(t, "live", string(m.Data))
			}
			third.ok(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "4", Sub: `r "3"`})
			// An ack of a live message names no consumer: refused.
			c.fails(&protocol.Frame{Type: protocol.TypeAck, ID: "3", Stream: "P", Consumer: "none", StreamSeq: pub.Seq, ConsumerSeq: 1}, protocol.CodeConsumerNotFound)
			c.ok(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "4", Sub: "p"})
			other.ok(&protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "4", Sub: "q"})
			require.Eventually(t, func() bool { return b.Feeds() == 0 }, 10*time.Second, 10*time.Millisecond)
		})
	}
}

// TestLiveRefusals: bad live subscriptions get error frames; the session
// goes on.
func TestLiveRefusals(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, http1, session.Options{Broker: env.Bridge, MaxSubscriptions: 1})
	c := dial(t, srv, protocol.SubprotocolJSON)
	tests := []struct {
		f    *protocol.Frame
		code protocol.Code
	}{
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "a", Subject: "$JS.API.>"}, protocol.CodeReservedSubject},
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "2", Sub: "a", Subject: "_INBOX.x"}, protocol.CodeReservedSubject},
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "3", Sub: "a", Subject: "a..b"}, protocol.CodeInvalidSubject},
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "4", Sub: "a", Subject: "a", Stream: "S", Consumer: "c"}, protocol.CodeBadRequest},
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "5", Sub: "a", Subject: "a", FromSeq: 1, Last: 3}, protocol.CodeBadRequest},
		{&protocol.Frame{Type: protocol.TypeSubscribe, ID: "6", Sub: "a", Subject: "a", Last: -1}, protocol.CodeBadRequest},
	}
	for _, tc := range tests {
		c.fails(tc.f, tc.code)
	}
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "7", Sub: "a", Subject: "a"})
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "8", Sub: "a", Subject: "b"}, protocol.CodeSubscriptionExists)
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "9", Sub: "b", Subject: "b"}, protocol.CodeTooManySubscriptions)
}

// TestLivePermissions: live subscriptions need a listen pattern covering
// the subject.
func TestLivePermissions(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	srv := startServer(t, http1, session.Options{Broker: env.Bridge, Gate: jwtGate(t)})
	tok := token(t, "dash", time.Now().Add(time.Hour), auth.Permissions{Listen: []string{"prices.>"}, Subscribe: []string{"S/c"}})
	c, _, err := dialWith(t, srv, []string{"httpmq.v1.json", auth.SubprotocolPrefix + tok}, nil)
	require.NoError(t, err)
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "a", Subject: "prices.eur"})
	c.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "2", Sub: "b", Subject: "prices.>"})
	for i, subject := range []string{"orders.x", ">", "prices", "S"} {
		c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: fmt.Sprint(10 + i), Sub: "x", Subject: subject}, protocol.CodeForbidden)
	}
	c.fails(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "20", Sub: "x", Subject: "$JS.EVENT.>"}, protocol.CodeReservedSubject)
}

// TestLiveSlowSubscriber: a session that stops reading its live
// subscription is cut off as a slow consumer; another session on the
// same subject receives everything meanwhile.
func TestLiveSlowSubscriber(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	stream(t, b, "P", "p.>")
	srv := startServer(t, h2c, session.Options{Broker: b, MaxQueuedBytes: 1 << 20, SlowConsumerTimeout: time.Hour})
	slow := dial(t, srv, protocol.SubprotocolMsgpack)
	slow.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "s", Subject: "p.>"})
	// and never reads again
	fast := dial(t, srv, protocol.SubprotocolMsgpack)
	fast.ok(&protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "f", Subject: "p.>"})

	// 16 MiB: more than the socket buffers and HTTP/2 windows between
	// the server and a client that does not read, so the queue fills.
	const total = 8000
	payload := make([]byte, 2048)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total {
			if _, err := b.Publish(testenv.Context(t), bridge.Message{Subject: "p.x", Data: payload}); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
		}
	}()
	for i := range total {
		m := fast.next()
		require.Equal(t, uint64(i+1), m.StreamSeq)
	}
	<-done
	// The server ended the slow session; the close frame saying so may
	// not reach a client that does not read (its windows are full).
	require.Eventually(t, func() bool { return srv.Sessions() == 1 }, 15*time.Second, 10*time.Millisecond,
		"the slow session was cut off")
	for {
		if _, err := slow.tryRecv(10 * time.Second); err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				assert.Equal(t, websocket.StatusCode(protocol.CloseSlowConsumer), code)
			}
			break
		}
	}
}
