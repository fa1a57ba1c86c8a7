package bridge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

func stream(t *testing.T, b *bridge.Bridge, name string, subjects ...string) {
	t.Helper()
	_, err := b.CreateStream(testenv.Context(t), bridge.StreamConfig{Name: name, Subjects: subjects})
	require.NoError(t, err)
}

func consumer(t *testing.T, b *bridge.Bridge, s string, c bridge.ConsumerConfig) *bridge.ConsumerInfo {
	t.Helper()
	ci, err := b.CreateConsumer(testenv.Context(t), s, c)
	require.NoError(t, err)
	return ci
}

func publish(t *testing.T, b *bridge.Bridge, subject string, n int) {
	t.Helper()
	for i := range n {
		_, err := b.Publish(testenv.Context(t), bridge.Message{Subject: subject, Data: fmt.Appendf(nil, "m%d", i)})
		require.NoError(t, err)
	}
}

func TestStreamLifecycle(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)

	cfg := bridge.StreamConfig{Name: "test-stream_1", Subjects: []string{"orders.>"}, Limits: bridge.StreamLimits{MaxAge: time.Minute}}
	si, err := b.CreateStream(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, "limits", si.Config.Retention)
	assert.Equal(t, "file", si.Config.Storage)
	assert.Equal(t, int64(-1), si.Config.Limits.MaxMsgs)

	_, err = b.CreateStream(ctx, cfg)
	require.NoError(t, err, "identical re-create succeeds")

	cfg.Subjects = []string{"other.>"}
	_, err = b.CreateStream(ctx, cfg)
	require.ErrorIs(t, err, bridge.ErrStreamExists)

	si, err = b.UpdateStream(ctx, "test-stream_1", func(c *bridge.StreamConfig) { c.Subjects = []string{"orders.>", "audit.*"} })
	require.NoError(t, err)
	assert.Equal(t, []string{"orders.>", "audit.*"}, si.Config.Subjects)
	assert.Equal(t, time.Minute, si.Config.Limits.MaxAge, "update keeps what it does not change")

	ack, err := b.Publish(ctx, bridge.Message{Subject: "audit.x", Data: []byte("hello"), MsgID: "id-1"})
	require.NoError(t, err)
	assert.Equal(t, bridge.PubAck{Stream: "test-stream_1", Sequence: 1}, ack)
	ack, err = b.Publish(ctx, bridge.Message{Subject: "audit.x", Data: []byte("hello"), MsgID: "id-1"})
	require.NoError(t, err)
	assert.True(t, ack.Duplicate)

	m, err := b.StoredMessage(ctx, "test-stream_1", 1)
	require.NoError(t, err)
	assert.Equal(t, "audit.x", m.Subject)
	assert.Equal(t, []byte("hello"), m.Data)
	_, err = b.StoredMessage(ctx, "test-stream_1", 99)
	require.ErrorIs(t, err, bridge.ErrMessageNotFound)

	all, err := b.Streams(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1)

	n, err := b.PurgeStream(ctx, "test-stream_1", bridge.PurgeOptions{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), n)

	require.NoError(t, b.DeleteStream(ctx, "test-stream_1"))
	_, err = b.Stream(ctx, "test-stream_1")
	require.ErrorIs(t, err, bridge.ErrStreamNotFound)
	require.ErrorIs(t, b.DeleteStream(ctx, "test-stream_1"), bridge.ErrStreamNotFound)
}

func TestValidation(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	tests := []struct {
		name string
		cfg  bridge.StreamConfig
		want error
	}{
		{"dot in name", bridge.StreamConfig{Name: "a.b", Subjects: []string{"x"}}, bridge.ErrInvalidName},
		{"space in name", bridge.StreamConfig{Name: "a b", Subjects: []string{"x"}}, bridge.ErrInvalidName},
		{"empty token", bridge.StreamConfig{Name: "s", Subjects: []string{"a..b"}}, bridge.ErrInvalidSubject},
		{"gt not last", bridge.StreamConfig{Name: "s", Subjects: []string{"a.>.b"}}, bridge.ErrInvalidSubject},
		{"no subjects", bridge.StreamConfig{Name: "s"}, bridge.ErrInvalidConfig},
		{"bad retention", bridge.StreamConfig{Name: "s", Subjects: []string{"x"}, Retention: "forever"}, bridge.ErrInvalidConfig},
		{"bad storage", bridge.StreamConfig{Name: "s", Subjects: []string{"x"}, Storage: "tape"}, bridge.ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.CreateStream(ctx, tc.cfg)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := b.Publish(ctx, bridge.Message{Subject: "nobody.listens", Data: []byte("x")})
	require.ErrorIs(t, err, bridge.ErrNoStreamForSubject)
	_, err = b.Publish(ctx, bridge.Message{Subject: "a.*", Data: []byte("x")})
	require.ErrorIs(t, err, bridge.ErrInvalidSubject)
	_, err = b.Publish(ctx, bridge.Message{Subject: "a", Data: make([]byte, 2<<20)})
	require.ErrorIs(t, err, bridge.ErrPayloadTooLarge)
}

func TestConsumerLifecycle(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s.>")

	push := bridge.ConsumerConfig{Name: "push", Push: true, FilterSubjects: []string{"s.1"}, MaxAckPending: 4, AckWait: time.Second}
	ci := consumer(t, b, "S", push)
	assert.Empty(t, ci.Config.DeliverSubject, "a JetStream pull consumer")
	assert.True(t, ci.Config.Push)
	consumer(t, b, "S", push) // identical again: fine
	push.MaxAckPending = 5
	_, err := b.CreateConsumer(ctx, "S", push)
	require.ErrorIs(t, err, bridge.ErrConsumerExists)

	pull := consumer(t, b, "S", bridge.ConsumerConfig{Name: "pull", DeliverPolicy: "new"})
	assert.False(t, pull.Config.Push)
	assert.Equal(t, "new", pull.Config.DeliverPolicy)

	_, err = b.CreateConsumer(ctx, "S", bridge.ConsumerConfig{Name: "x", DeliverGroup: "g"})
	require.ErrorIs(t, err, bridge.ErrInvalidConfig)
	_, err = b.CreateConsumer(ctx, "S", bridge.ConsumerConfig{Name: "x", DeliverPolicy: "sometimes"})
	require.ErrorIs(t, err, bridge.ErrInvalidConfig)
	_, err = b.CreateConsumer(ctx, "nope", bridge.ConsumerConfig{Name: "x"})
	require.ErrorIs(t, err, bridge.ErrStreamNotFound)
	_, err = b.CreateConsumer(ctx, "nope", bridge.ConsumerConfig{Name: "x", FilterSubjects: []string{"s.1"}})
	require.ErrorIs(t, err, bridge.ErrStreamNotFound)
	_, err = b.CreateConsumer(ctx, "S", bridge.ConsumerConfig{Name: "x", Push: true, FilterSubjects: []string{"t.1"}})
	require.ErrorIs(t, err, bridge.ErrFilterNotInStream, "a filter outside the stream's subjects")
	_, err = b.Consumer(ctx, "S", "x")
	require.ErrorIs(t, err, bridge.ErrConsumerNotFound, "and nothing was created")

	list, err := b.Consumers(ctx, "S")
	require.NoError(t, err)
	assert.Len(t, list, 2)

	got, err := b.Consumer(ctx, "S", "push")
	require.NoError(t, err)
	assert.Equal(t, 4, got.Config.MaxAckPending)
	require.NoError(t, b.DeleteConsumer(ctx, "S", "push"))
	_, err = b.Consumer(ctx, "S", "push")
	require.ErrorIs(t, err, bridge.ErrConsumerNotFound)
	require.ErrorIs(t, b.DeleteConsumer(ctx, "S", "push"), bridge.ErrConsumerNotFound)
	_, err = b.Consumer(ctx, "T", "push")
	require.ErrorIs(t, err, bridge.ErrStreamNotFound)
}

func TestUnavailableIsBounded(t *testing.T) {
	env := testenv.New(t, testenv.Options{RequestTimeout: 300 * time.Millisecond})
	env.Server.Shutdown()
	ctx := context.Background()
	start := time.Now()
	_, err := env.Bridge.Publish(ctx, bridge.Message{Subject: "a", Data: []byte("x")})
	require.ErrorIs(t, err, bridge.ErrUnavailable)
	require.ErrorIs(t, env.Bridge.Ready(ctx), bridge.ErrUnavailable)
	_, err = env.Bridge.Streams(ctx)
	require.ErrorIs(t, err, bridge.ErrUnavailable)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "a", true},
		{"a.*", "a.>", false},
		{"a.>", "a.*", true},
		{"a.b", "a.c", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, bridge.SubjectMatches(tc.pattern, tc.subject), "%s ~ %s", tc.pattern, tc.subject)
	}
}

func TestPublishAsync(t *testing.T) {
	env := testenv.New(t, testenv.Options{RequestTimeout: 500 * time.Millisecond})
	b := env.Bridge
	stream(t, b, "S", "s.>")
	type result struct {
		ack bridge.PubAck
		err error
	}
	publish := func(m bridge.Message) result {
		t.Helper()
		done := make(chan result, 1)
		if err := b.PublishAsync(m, func(a bridge.PubAck, err error) { done <- result{a, err} }); err != nil {
			return result{err: err}
		}
		select {
		case r := <-done:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("done never called")
			return result{}
		}
	}
	r := publish(bridge.Message{Subject: "s.a", Data: []byte("x"), MsgID: "one"})
	require.NoError(t, r.err)
	assert.Equal(t, bridge.PubAck{Stream: "S", Sequence: 1}, r.ack)
	r = publish(bridge.Message{Subject: "s.a", Data: []byte("x"), MsgID: "one"})
	require.NoError(t, r.err)
	assert.True(t, r.ack.Duplicate)
	require.ErrorIs(t, publish(bridge.Message{Subject: "nobody.home"}).err, bridge.ErrNoStreamForSubject)
	require.ErrorIs(t, publish(bridge.Message{Subject: "s.*"}).err, bridge.ErrInvalidSubject)
	require.ErrorIs(t, publish(bridge.Message{Subject: "s.big", Data: make([]byte, 2<<20)}).err, bridge.ErrPayloadTooLarge)

	env.Server.Shutdown()
	start := time.Now()
	require.ErrorIs(t, publish(bridge.Message{Subject: "s.a", Data: []byte("x")}).err, bridge.ErrUnavailable)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestPublishAsyncUnanswered: a publish nobody acknowledges (a core NATS
// subscriber, not a stream, took it) fails as unavailable after the
// request timeout; one pending when the bridge closes fails as closed.
func TestPublishAsyncUnanswered(t *testing.T) {
	env := testenv.New(t, testenv.Options{RequestTimeout: 300 * time.Millisecond, Listen: "127.0.0.1:-1"})
	b := env.Bridge
	nc, err := nats.Connect(env.Server.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	sub, err := nc.SubscribeSync("quiet.>")
	require.NoError(t, err)
	defer func() { _ = sub.Unsubscribe() }()
	require.NoError(t, nc.Flush())

	errs := make(chan error, 2)
	start := time.Now()
	require.NoError(t, b.PublishAsync(bridge.Message{Subject: "quiet.a"}, func(_ bridge.PubAck, err error) { errs <- err }))
	select {
	case err := <-errs:
		require.ErrorIs(t, err, bridge.ErrUnavailable)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	case <-time.After(10 * time.Second):
		t.Fatal("an unanswered publish never failed")
	}

	require.NoError(t, b.PublishAsync(bridge.Message{Subject: "quiet.b"}, func(_ bridge.PubAck, err error) { errs <- err }))
	b.Close()
	select {
	case err := <-errs:
		require.ErrorIs(t, err, bridge.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("a publish pending at Close never failed")
	}
	require.ErrorIs(t, b.PublishAsync(bridge.Message{Subject: "quiet.c"}, func(bridge.PubAck, error) { t.Error("done called") }), bridge.ErrClosed)
}
