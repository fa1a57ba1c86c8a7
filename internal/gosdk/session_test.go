package gosdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

var encodings = []httpmq.Encoding{httpmq.EncodingJSON, httpmq.EncodingMsgpack}

func TestSession(t *testing.T) {
	for _, tr := range transports {
		for _, enc := range encodings {
			t.Run(fmt.Sprintf("%s/%s", tr, enc), func(t *testing.T) {
				srv := startServer(t, tr)
				want, handshake := httpmq.TransportHTTP2, "CONNECT HTTP/2.0"
				if tr == http1 {
					want, handshake = httpmq.TransportHTTP1, "GET HTTP/1.1"
				}
				s := srv.dial(t, &httpmq.SessionOptions{Transport: want, Encoding: enc})
				hello := s.Hello()
				assert.Equal(t, want, hello.Transport)
				assert.Equal(t, "httpmq.v1."+string(enc), hello.Subprotocol)
				assert.NotEmpty(t, hello.Session)
				assert.Positive(t, hello.MaxFrame)
				assert.Equal(t, []string{handshake}, srv.seen())
				exerciseSession(t, srv, s)
			})
		}
	}
}

// exerciseSession uses every method of a session.
func exerciseSession(t *testing.T, srv *server, s *httpmq.Session) {
	c := ctx(t)
	a := srv.admin()
	setup(t, a, "orders", httpmq.NewConsumer{Name: "push", Mode: httpmq.ModePush, AckWait: httpmq.Ptr(2 * time.Second)})
	_, err := a.CreateConsumer(c, "orders", httpmq.NewConsumer{Name: "pull", Mode: httpmq.ModePull, FilterSubject: "orders.eu.>"})
	require.NoError(t, err)

	require.NoError(t, s.Ping(c))

	ack, err := s.Publish(c, "orders.eu.1", []byte("first\x00"), &httpmq.PublishOptions{MsgID: "o-1", Header: httpmq.Header{"Trace-Id": {"t"}}})
	require.NoError(t, err)
	assert.Equal(t, httpmq.PubAck{Stream: "orders", Sequence: 1}, ack)
	ack, err = s.Publish(c, "orders.eu.1", []byte("first\x00"), &httpmq.PublishOptions{MsgID: "o-1"})
	require.NoError(t, err)
	assert.Equal(t, httpmq.PubAck{Stream: "orders", Sequence: 1, Duplicate: true}, ack)
	_, err = s.Publish(c, "nowhere", nil, nil)
	var apiErr *httpmq.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, protocol.CodeNoStreamForSubject, apiErr.Code)
	assert.Equal(t, http.StatusNotFound, apiErr.Status, "an error frame carries the status REST would answer")

	// Many publishes in flight at once.
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Publish(c, fmt.Sprintf("orders.%s.%d", []string{"eu", "us"}[i%2], i), []byte{byte(i)}, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	push, err := s.Subscribe(c, "orders", "push", &httpmq.SubscribeOptions{MaxInflight: 20})
	require.NoError(t, err)
	pull, err := s.Subscribe(c, "orders", "pull", &httpmq.SubscribeOptions{Filter: "orders.eu.>"})
	require.NoError(t, err)

	_, err = s.Subscribe(c, "orders", "missing", nil)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, protocol.CodeConsumerNotFound, apiErr.Code)

	// The first message, with everything it carries.
	m := next(t, push)
	assert.Equal(t, "orders.eu.1", m.Subject)
	assert.Equal(t, "orders", m.Stream)
	assert.Equal(t, "push", m.Consumer)
	assert.Equal(t, []byte("first\x00"), m.Data)
	assert.Equal(t, "t", m.Header.Get("Trace-Id"))
	assert.EqualValues(t, 1, m.StreamSeq)
	assert.EqualValues(t, 1, m.ConsumerSeq)
	assert.EqualValues(t, 1, m.Deliveries)
	// JetStream counts a consumer's pending messages as it hears of the
	// stream's stores, which may lag just after a burst: at most the n
	// published after this one.
	assert.Positive(t, m.Pending)
	assert.LessOrEqual(t, m.Pending, uint64(n))
	assert.WithinDuration(t, time.Now(), m.Time, time.Minute)
	require.NoError(t, m.InProgress(c))
	require.NoError(t, m.Ack(c))
	require.NoError(t, m.Ack(c), "the same ack again is a retry")
	require.ErrorAs(t, m.Nak(c, 0), &apiErr)
	assert.Equal(t, protocol.CodeAckNotPending, apiErr.Code)

	// Nak comes again; term does not. Acks from other goroutines.
	m = next(t, push)
	require.NoError(t, m.Nak(c, 0))
	seen := map[uint64]int{}
	var acks sync.WaitGroup
	for len(seen) < n {
		m := next(t, push)
		seen[m.StreamSeq]++
		switch {
		case m.StreamSeq == 3:
			require.NoError(t, m.Term(c, "not wanted"))
		case m.StreamSeq%2 == 0:
			require.NoError(t, m.AckNoWait())
		default:
			acks.Go(func() { assert.NoError(t, m.Ack(c)) })
		}
	}
	acks.Wait()
	assert.Len(t, seen, n, "every message, the nak'd one included")
	waitFor(t, "every ack to be applied", func() bool {
		ci, err := a.Consumer(c, "orders", "push")
		require.NoError(t, err)
		return ci.NumAckPending == 0 && ci.NumPending == 0
	})

	// The pull consumer shares the eu messages; ranging works.
	got := 0
	for m := range pull.Messages() {
		assert.Regexp(t, `^orders\.eu\.`, m.Subject)
		require.NoError(t, s.Ack(c, httpmq.AckRequest{Stream: m.Stream, Consumer: m.Consumer, StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq}))
		if got++; got == n/2+1 {
			break
		}
	}
	require.NoError(t, pull.Unsubscribe(c))
	require.NoError(t, pull.Unsubscribe(c), "idempotent")
	_, err = pull.Next(c)
	assert.ErrorIs(t, err, httpmq.ErrUnsubscribed)

	// Deleting the consumer ends its subscription, not the session.
	require.NoError(t, a.DeleteConsumer(c, "orders", "push"))
	select {
	case <-push.Done():
	case <-c.Done():
		t.Fatal("subscription not ended")
	}
	require.ErrorAs(t, push.Err(), &apiErr)
	assert.Equal(t, protocol.CodeConsumerNotFound, apiErr.Code)
	require.NoError(t, s.Ping(c))
}

func TestSessionAutoTransport(t *testing.T) {
	for _, tc := range []struct {
		tr        transport
		want      httpmq.Transport
		handshake []string
	}{
		// HTTP/1.1 wherever the server speaks it; HTTP/2 otherwise.
		{http1, httpmq.TransportHTTP1, []string{"GET HTTP/1.1"}},
		{h2c, httpmq.TransportHTTP1, []string{"GET HTTP/1.1"}},
		{h2tls, httpmq.TransportHTTP1, []string{"GET HTTP/1.1"}},
		{testenv.H2COnly, httpmq.TransportHTTP2, []string{"CONNECT HTTP/2.0"}},
		{testenv.H2TLSOnly, httpmq.TransportHTTP2, []string{"CONNECT HTTP/2.0"}},
	} {
		t.Run(string(tc.tr), func(t *testing.T) {
			srv := startServer(t, tc.tr)
			s := srv.dial(t, nil)
			assert.Equal(t, tc.want, s.Hello().Transport)
			assert.Equal(t, tc.handshake, srv.seen())
			require.NoError(t, s.Ping(ctx(t)))
		})
	}
}

func TestSessionDialErrors(t *testing.T) {
	srv := startServer(t, h2c)
	// An HTTP answer is final: no fallback to HTTP/2.
	_, err := httpmq.Dial(ctx(t), srv.URL+"/v1/elsewhere", nil)
	var apiErr *httpmq.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.Status)
	assert.Equal(t, protocol.CodeNotFound, apiErr.Code)

	_, err = httpmq.Dial(ctx(t), "ftp://x", nil)
	assert.ErrorIs(t, err, httpmq.ErrInvalidOption)
	_, err = httpmq.Dial(ctx(t), srv.URL, &httpmq.SessionOptions{Encoding: "xml"})
	assert.ErrorIs(t, err, httpmq.ErrInvalidOption)

	// Nobody listening, and a cancelled context.
	_, err = httpmq.Dial(ctx(t), "ws://"+freeAddr(t), nil)
	assert.Error(t, err)
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err = httpmq.Dial(cancelled, srv.URL, nil)
	assert.ErrorIs(t, err, context.Canceled)

	// Dial's URL may be the server's base URL; Servers are tried in turn.
	s, err := httpmq.Dial(ctx(t), "ws://"+freeAddr(t), &httpmq.SessionOptions{Servers: []string{srv.URL}})
	require.NoError(t, err)
	assert.Equal(t, srv.WSURL, s.Hello().URL)
	require.NoError(t, s.Close())
}

func TestSessionClose(t *testing.T) {
	srv := startServer(t, http1)
	setup(t, srv.admin(), "s", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePull})
	var events []httpmq.Event
	var mu sync.Mutex
	s, err := httpmq.Dial(ctx(t), srv.WSURL, &httpmq.SessionOptions{OnEvent: func(e httpmq.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	require.NoError(t, err)
	sub, err := s.Subscribe(ctx(t), "s", "c", nil)
	require.NoError(t, err)

	blocked := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		blocked <- err
	}()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	assert.ErrorIs(t, <-blocked, httpmq.ErrClosed)
	assert.ErrorIs(t, s.Err(), httpmq.ErrClosed)
	<-s.Done()

	_, err = s.Publish(ctx(t), "s", nil, nil)
	assert.ErrorIs(t, err, httpmq.ErrClosed)
	_, err = s.Subscribe(ctx(t), "s", "c", nil)
	assert.ErrorIs(t, err, httpmq.ErrClosed)
	assert.ErrorIs(t, s.Ping(ctx(t)), httpmq.ErrClosed)
	mu.Lock()
	assert.Empty(t, events, "a Close is no disconnection")
	mu.Unlock()
}

// A close code that forbids reconnecting ends the session.
func TestSessionGivesUpOnNoReconnectClose(t *testing.T) {
	srv := startServer(t, http1)
	s := srv.dial(t, nil)
	// A frame over max_frame closes the session with 1009.
	_, err := s.Publish(ctx(t), "s", make([]byte, s.Hello().MaxFrame), nil)
	require.Error(t, err)
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	var ce *httpmq.CloseError
	require.True(t, errors.As(s.Err(), &ce), "%v", s.Err())
	assert.Equal(t, protocol.CloseMessageTooBig, ce.Code)
}
