package gosdk_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/protocol"
)

func TestDataClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			srv := startServer(t, tr)
			a, d := srv.admin(), srv.data()
			c := ctx(t)
			setup(t, a, "jobs", httpmq.NewConsumer{Name: "w", Mode: httpmq.ModePush, AckWait: httpmq.Ptr(time.Second)})

			ack, err := d.Publish(c, "jobs.a", []byte("raw bytes\x00\xff"), &httpmq.PublishOptions{
				MsgID: "m1", Header: httpmq.Header{"X-Trace": {"abc", "def"}},
			})
			require.NoError(t, err)
			assert.Equal(t, httpmq.PubAck{Stream: "jobs", Sequence: 1}, ack)
			ack, err = d.Publish(c, "jobs.a", []byte("raw bytes\x00\xff"), &httpmq.PublishOptions{MsgID: "m1"})
			require.NoError(t, err)
			assert.Equal(t, httpmq.PubAck{Stream: "jobs", Sequence: 1, Duplicate: true}, ack)
			ack, err = d.Publish(c, "jobs.b", []byte("base64 body"), &httpmq.PublishOptions{Base64: true})
			require.NoError(t, err)
			assert.EqualValues(t, 2, ack.Sequence)
			for i := range 2 {
				_, err = d.Publish(c, "jobs.c", []byte{byte('0' + i)}, nil)
				require.NoError(t, err)
			}

			sub, err := d.Subscribe(c, "jobs", "w", &httpmq.SubscribeOptions{MaxInflight: 10, Filter: "jobs.>"})
			require.NoError(t, err)
			m := next(t, sub)
			assert.Equal(t, "jobs.a", m.Subject)
			assert.Equal(t, []byte("raw bytes\x00\xff"), m.Data)
			assert.Equal(t, []string{"abc", "def"}, m.Header["X-Trace"])
			assert.Equal(t, "m1", m.Header.Get("Nats-Msg-Id"))
			assert.EqualValues(t, 1, m.StreamSeq)
			assert.EqualValues(t, 1, m.Deliveries)
			assert.False(t, m.Time.IsZero())
			require.NoError(t, m.Ack(c))
			require.NoError(t, m.Ack(c), "the same ack again is a retry")
			err = m.Nak(c, 0)
			assertAPIError(t, err, http.StatusConflict, protocol.CodeAckNotPending)

			m = next(t, sub)
			assert.Equal(t, []byte("base64 body"), m.Data)
			require.NoError(t, m.InProgress(c))
			require.NoError(t, m.Nak(c, 0))
			again := next(t, sub)
			for again.StreamSeq != 2 { // the nak'd message comes again
				require.NoError(t, again.Ack(c))
				again = next(t, sub)
			}
			assert.EqualValues(t, 2, again.Deliveries)
			assert.Greater(t, again.ConsumerSeq, m.ConsumerSeq)
			require.NoError(t, again.Term(c, "bad job"))

			// Ack by numbers, as another process would.
			for {
				ci, err := a.Consumer(c, "jobs", "w")
				require.NoError(t, err)
				if ci.NumAckPending == 0 && ci.NumPending == 0 {
					break
				}
				m, err := sub.Next(c)
				require.NoError(t, err)
				require.NoError(t, d.Ack(c, httpmq.AckRequest{Stream: m.Stream, Consumer: m.Consumer, StreamSeq: m.StreamSeq, ConsumerSeq: m.ConsumerSeq}))
			}

			require.NoError(t, sub.Close())
			require.NoError(t, sub.Close(), "idempotent")
			_, err = sub.Next(c)
			assert.ErrorIs(t, err, httpmq.ErrUnsubscribed)
		})
	}
}

// PublishBatch: one outcome per message, in order, each as a single
// publish of it would have had; what was stored reads back intact.
func TestDataClientPublishBatch(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			srv := startServer(t, tr)
			a, d := srv.admin(), srv.data()
			c := ctx(t)
			setup(t, a, "b", httpmq.NewConsumer{Name: "r", Mode: httpmq.ModePush})

			results, err := d.PublishBatch(c, []httpmq.BatchMessage{
				{Subject: "b.one", Data: []byte("raw\x00\xff"), MsgID: "m1", Header: httpmq.Header{"X-Trace": {"abc"}, "lower-case": {"kept"}}},
				{Subject: "b.two"}, // no payload
				{Subject: "nowhere", Data: []byte("x")},
				{Subject: "b.one", Data: []byte("again"), MsgID: "m1"},
				{Subject: "b.three", Header: httpmq.Header{"Nats-Rollup": {"all"}}},
				{Subject: "$JS.API.STREAM.DELETE.b"},
				{Subject: ""},
				{Subject: "b.four", Data: []byte("last")},
			})
			require.NoError(t, err)
			require.Len(t, results, 8)
			assert.Equal(t, httpmq.BatchResult{PubAck: httpmq.PubAck{Stream: "b", Sequence: 1}}, results[0])
			assert.Equal(t, httpmq.BatchResult{PubAck: httpmq.PubAck{Stream: "b", Sequence: 2}}, results[1])
			assertAPIError(t, results[2].Err, http.StatusNotFound, protocol.CodeNoStreamForSubject)
			assert.Equal(t, httpmq.BatchResult{PubAck: httpmq.PubAck{Stream: "b", Sequence: 1, Duplicate: true}}, results[3])
			assertAPIError(t, results[4].Err, http.StatusBadRequest, protocol.CodeReservedHeader)
			assertAPIError(t, results[5].Err, http.StatusBadRequest, protocol.CodeReservedSubject)
			assertAPIError(t, results[6].Err, http.StatusBadRequest, protocol.CodeBadRequest)
			assert.Equal(t, httpmq.BatchResult{PubAck: httpmq.PubAck{Stream: "b", Sequence: 3}}, results[7])

			sub, err := d.Subscribe(c, "b", "r", &httpmq.SubscribeOptions{MaxInflight: 10})
			require.NoError(t, err)
			defer sub.Close()
			m := next(t, sub)
			assert.Equal(t, []byte("raw\x00\xff"), m.Data)
			assert.Equal(t, []string{"abc"}, m.Header["X-Trace"])
			assert.Equal(t, []string{"kept"}, m.Header["lower-case"], "a batch's header names keep their case")
			assert.Equal(t, "m1", m.Header.Get("Nats-Msg-Id"))
			assert.Empty(t, next(t, sub).Data)
			assert.Equal(t, []byte("last"), next(t, sub).Data)

			// A request the server refuses whole publishes nothing.
			_, err = d.PublishBatch(c, nil)
			assertAPIError(t, err, http.StatusBadRequest, protocol.CodeBadRequest)
			si, err := a.Stream(c, "b")
			require.NoError(t, err)
			assert.EqualValues(t, 3, si.State.Messages)
		})
	}
}

func TestDataClientErrors(t *testing.T) {
	srv := startServer(t, http1)
	a, d := srv.admin(), srv.data()
	c := ctx(t)
	setup(t, a, "s", httpmq.NewConsumer{Name: "solo", Mode: httpmq.ModePush})

	_, err := d.Publish(c, "nowhere", []byte("x"), nil)
	assertAPIError(t, err, http.StatusNotFound, protocol.CodeNoStreamForSubject)
	_, err = d.Publish(c, "s.x", []byte("x"), &httpmq.PublishOptions{Header: httpmq.Header{"Nats-Rollup": {"all"}}})
	assertAPIError(t, err, http.StatusBadRequest, protocol.CodeReservedHeader)

	_, err = d.Subscribe(c, "s", "missing", nil)
	assertAPIError(t, err, http.StatusNotFound, protocol.CodeConsumerNotFound)
	sub, err := d.Subscribe(c, "s", "solo", nil)
	require.NoError(t, err)
	second, err := d.Subscribe(c, "s", "solo", nil)
	require.NoError(t, err, "subscribers share a push consumer")
	require.NoError(t, second.Close())

	// The server ends the subscription when the consumer is deleted.
	require.NoError(t, a.DeleteConsumer(c, "s", "solo"))
	_, err = sub.Next(c)
	var e *httpmq.APIError
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, protocol.CodeConsumerNotFound, e.Code)
	assert.Equal(t, http.StatusNotFound, e.Status, "the final line's code")
	<-sub.Done()
	require.NoError(t, sub.Close())
}

// Cancelling the context of Subscribe ends the subscription.
func TestDataClientSubscribeContext(t *testing.T) {
	srv := startServer(t, h2c)
	a, d := srv.admin(), srv.data()
	setup(t, a, "s", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePull})
	sctx, cancel := context.WithCancel(ctx(t))
	sub, err := d.Subscribe(sctx, "s", "c", nil)
	require.NoError(t, err)
	nctx, ncancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer ncancel()
	_, err = sub.Next(nctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "heartbeats are not messages")
	cancel()
	select {
	case <-sub.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end")
	}
	assert.ErrorIs(t, sub.Err(), context.Canceled)
	require.NoError(t, sub.Close())
}

func next(t *testing.T, sub *httpmq.Subscription) *httpmq.Message {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := sub.Next(c)
	require.NoError(t, err)
	return m
}
