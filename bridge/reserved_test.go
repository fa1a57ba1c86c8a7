package bridge_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

func TestReservedSubjects(t *testing.T) {
	cases := []struct {
		subject  string
		reserved bool // publishing there is refused
		overlaps bool // a stream may not capture it
	}{
		{"$JS.API.STREAM.DELETE.V", true, true},
		{"$JS.ACK.V.worker.1.1.1.0.0", true, true},
		{"$KV.bucket.key", true, true},
		{"$O.store.x", true, true},
		{"$SYS.REQ.SERVER.PING", true, true},
		{"$MQTT.sess.x", true, true},
		{"$NRG.x", true, true},
		{"$SRV.PING", true, true},
		{"$whatever", true, true},
		{"_INBOX.abc", true, true},
		{"_INBOX", true, true},
		{"_R_.abc", true, true},
		{"_GR_.abc", true, true},
		{"_httpmq.deliver.abc", true, true},
		{"orders.$JS", false, false},
		{"orders._INBOX.x", false, false},
		{"_inbox.abc", false, false},
		{"_httpmqx.a", false, false},
		{"orders.eu", false, false},
		{">", false, true},
		{"*", false, true},
		{"*.>", false, true},
		{"*.API.>", false, true},
		{"orders.>", false, false},
		{"orders.*", false, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.reserved, bridge.Reserved(c.subject), "Reserved(%q)", c.subject)
		assert.Equal(t, c.overlaps, bridge.OverlapsReserved(c.subject), "OverlapsReserved(%q)", c.subject)
		if err := bridge.ValidateStreamSubject(c.subject); c.overlaps {
			assert.ErrorIs(t, err, bridge.ErrReservedSubject, c.subject)
		} else {
			assert.NoError(t, err, c.subject)
		}
		if c.reserved {
			assert.ErrorIs(t, bridge.ValidatePublishSubject(c.subject), bridge.ErrReservedSubject, c.subject)
		}
	}
	assert.Equal(t, []string{"$", "_INBOX.", "_R_.", "_GR_.", "_httpmq."}, bridge.ReservedPrefixes())
}

// natsClient connects plain nats.go to env's server, to set up what
// httpmq cannot (streams allowing roll-ups, sealed streams).
func natsClient(t *testing.T, env *testenv.Env) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(env.Server.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// TestPublishRefusesReservedSubjects: the JetStream API, acks and inboxes
// are not publish targets; before the fix an empty publish to
// $JS.API.STREAM.DELETE.V deleted V.
func TestPublishRefusesReservedSubjects(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "V", "v.>")
	publish(t, b, "v.a", 2)
	for _, subject := range []string{"$JS.API.STREAM.DELETE.V", "$JS.API.STREAM.PURGE.V", "_INBOX.x", "_httpmq.deliver.x"} {
		_, err := b.Publish(ctx, bridge.Message{Subject: subject})
		require.ErrorIs(t, err, bridge.ErrReservedSubject, subject)
		err = b.PublishAsync(bridge.Message{Subject: subject}, func(bridge.PubAck, error) { t.Error("done called") })
		require.ErrorIs(t, err, bridge.ErrReservedSubject, subject)
	}
	si, err := b.Stream(ctx, "V")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), si.State.Msgs)
}

// TestPublishHeaders: Nats-* headers are JetStream commands; only the
// conditional ones pass, in JetStream's spelling, with a valid value.
func TestPublishHeaders(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b, ctx := env.Bridge, testenv.Context(t)
	js := natsClient(t, env)
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KVT", Subjects: []string{"kvt.*"}, AllowRollup: true})
	require.NoError(t, err)
	publish(t, b, "kvt.a", 3)

	for _, h := range []string{"Nats-Rollup", "nats-rollup", "NATS-TTL", "Nats-Msg-Id", "Nats-Marker-Reason", "Nats-Batch-Id",
		"Nats-Expected-Last-Msg-Id", "Nats-Expected-Last-Subject-Sequence-Subject", "Nats-Incr", "Nats-Schedule"} {
		_, err := b.Publish(ctx, bridge.Message{Subject: "kvt.a", Header: map[string][]string{h: {"all"}}})
		require.ErrorIs(t, err, bridge.ErrReservedHeader, h)
		err = b.PublishAsync(bridge.Message{Subject: "kvt.a", Header: map[string][]string{h: {"all"}}}, func(bridge.PubAck, error) {})
		require.ErrorIs(t, err, bridge.ErrReservedHeader, h)
	}
	si, err := b.Stream(ctx, "KVT")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), si.State.Msgs, "no roll-up wiped the history")

	cases := []struct {
		name   string
		header map[string][]string
		want   error
	}{
		{"wrong last subject sequence", map[string][]string{"Nats-Expected-Last-Subject-Sequence": {"1"}}, bridge.ErrPreconditionFailed},
		{"lower case is JetStream's spelling too", map[string][]string{"nats-expected-last-subject-sequence": {"1"}}, bridge.ErrPreconditionFailed},
		{"wrong last sequence", map[string][]string{"Nats-Expected-Last-Sequence": {"2"}}, bridge.ErrPreconditionFailed},
		{"wrong stream", map[string][]string{"Nats-Expected-Stream": {"OTHER"}}, bridge.ErrPreconditionFailed},
		{"not a number", map[string][]string{"Nats-Expected-Last-Sequence": {"three"}}, bridge.ErrInvalidHeader},
		{"two values", map[string][]string{"Nats-Expected-Last-Sequence": {"3", "3"}}, bridge.ErrInvalidHeader},
		{"two spellings", map[string][]string{"Nats-Expected-Last-Sequence": {"3"}, "nats-expected-last-sequence": {"3"}}, bridge.ErrInvalidHeader},
		{"right last sequence", map[string][]string{"Nats-Expected-Last-Sequence": {"3"}, "X-Trace": {"t"}}, nil},
		{"right subject sequence and stream", map[string][]string{"Nats-Expected-Last-Subject-Sequence": {"4"}, "Nats-Expected-Stream": {"KVT"}}, nil},
	}
	for _, c := range cases {
		_, err := b.Publish(ctx, bridge.Message{Subject: "kvt.a", Header: c.header})
		if c.want == nil {
			require.NoError(t, err, c.name)
		} else {
			require.ErrorIs(t, err, c.want, c.name)
		}
	}
	m, err := b.StoredMessage(ctx, "KVT", 4)
	require.NoError(t, err)
	assert.Equal(t, []string{"t"}, m.Header["X-Trace"], "other headers go along")
}

// TestPublishRefusals: JetStream's refusals of one message map onto
// precise sentinels, not invalid_config or unavailable.
func TestPublishRefusals(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b, ctx := env.Bridge, testenv.Context(t)
	js := natsClient(t, env)
	_, err := b.CreateStream(ctx, bridge.StreamConfig{Name: "SMALL", Subjects: []string{"small"}, Limits: bridge.StreamLimits{MaxMsgSize: 10}})
	require.NoError(t, err)
	_, err = b.Publish(ctx, bridge.Message{Subject: "small", Data: make([]byte, 100)})
	require.ErrorIs(t, err, bridge.ErrPayloadTooLarge)

	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "SEALED", Subjects: []string{"sealed"}})
	require.NoError(t, err)
	_, err = js.UpdateStream(ctx, jetstream.StreamConfig{Name: "SEALED", Subjects: []string{"sealed"}, Sealed: true})
	require.NoError(t, err)
	_, err = b.Publish(ctx, bridge.Message{Subject: "sealed"})
	require.ErrorIs(t, err, bridge.ErrPublishRefused)
}

// TestStreamSubjectsOutsideReservedSpace: a stream may not capture
// reserved subjects; streams that already do (made by other NATS
// clients) can still be changed in other ways.
func TestStreamSubjectsOutsideReservedSpace(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	b, ctx := env.Bridge, testenv.Context(t)
	for _, s := range []string{"_INBOX.>", "_httpmq.>", "$KV.b.>", "*", "*.x", ">", "*.>"} {
		_, err := b.CreateStream(ctx, bridge.StreamConfig{Name: "EVIL", Subjects: []string{"ok", s}})
		require.ErrorIs(t, err, bridge.ErrReservedSubject, s)
	}
	stream(t, b, "S", "s.>")
	_, err := b.UpdateStream(ctx, "S", func(c *bridge.StreamConfig) { c.Subjects = append(c.Subjects, "_INBOX.>") })
	require.ErrorIs(t, err, bridge.ErrReservedSubject)

	kv, err := natsClient(t, env).CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b"})
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "k", "v")
	require.NoError(t, err)
	si, err := b.UpdateStream(ctx, "KV_b", func(c *bridge.StreamConfig) { c.Limits.MaxMsgs = 100 })
	require.NoError(t, err, "a stream's own reserved subjects stay")
	assert.Equal(t, []string{"$KV.b.>"}, si.Config.Subjects)
}

// TestConsumerDeliverSubject: httpmq makes pull consumers only, so a
// deliver subject is never taken: not one in reserved space (JetStream's
// API, inboxes, another consumer's), nor an ordinary one.
func TestConsumerDeliverSubject(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	stream(t, b, "S", "s.>")
	for _, d := range []string{"$JS.API.STREAM.DELETE.S", "_INBOX.x", "_httpmq.deliver.x", "deliver.c"} {
		_, err := b.CreateConsumer(ctx, "S", bridge.ConsumerConfig{Name: "c", Push: true, DeliverSubject: d})
		require.ErrorIs(t, err, bridge.ErrInvalidConfig, d)
	}
	_, err := b.Consumer(ctx, "S", "c")
	require.ErrorIs(t, err, bridge.ErrConsumerNotFound, "nothing was made")
	_, err = b.Stream(ctx, "S")
	require.NoError(t, err)
}
