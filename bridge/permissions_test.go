package bridge_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// natsPermissions are the permissions docs/operations.md ("What httpmq's
// NATS user needs") lists, for a deployment whose clients use subjects
// under orders.>.
var natsPermissions = &server.Permissions{
	Publish: &server.SubjectPermission{Allow: []string{
		"$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "_httpmq.ack.>", "_INBOX.>", "orders.>"}},
	Subscribe: &server.SubjectPermission{Allow: []string{
		"_INBOX.>", "_httpmq.>", "$JS.ACK.>", "$JS.EVENT.ADVISORY.>",
		"$JS.API.CONSUMER.DELETE.>", "$JS.API.STREAM.DELETE.>", "orders.>"}},
}

// TestNATSPermissions: with no more NATS permissions than the documented
// ones, every part of the bridge works (streams and consumers, publish,
// pull and push subscribers, confirmed acks and their arbitration, live
// subscriptions, a consumer's deletion seen by its subscriber), and NATS
// reports no permission violation.
func TestNATSPermissions(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Users: []*server.User{{Username: "httpmq", Password: "secret", Permissions: natsPermissions}}})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second))

	var logs testenv.LogBuffer
	ctx := testenv.Context(t)
	b, err := bridge.Connect(ctx, bridge.Config{URLs: []string{ns.ClientURL()}, User: "httpmq", Password: "secret",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.NoError(t, b.Ready(ctx))

	stream(t, b, "O", "orders.>")
	for _, push := range []bool{false, true} {
		name := map[bool]string{false: "pull", true: "push"}[push]
		consumer(t, b, "O", bridge.ConsumerConfig{Name: name, Push: push, AckWait: time.Minute, MaxAckPending: 10})
	}
	live, lr := listen(t, b, bridge.LiveOptions{Subject: "orders.>"})
	defer live.Close()
	publish(t, b, "orders.new", 2)
	for range 2 {
		next(t, lr)
	}
	for _, name := range []string{"pull", "push"} {
		_, r := subscribe(t, b, bridge.SubscribeOptions{Stream: "O", Consumer: name, MaxInFlight: 10})
		d := next(t, r)
		res, err := b.Ack(ctx, d.AckRequest(bridge.Ack))
		require.NoError(t, err, name)
		assert.False(t, res.Duplicate, name)
		res, err = b.Ack(ctx, d.AckRequest(bridge.Ack))
		require.NoError(t, err, name)
		assert.True(t, res.Duplicate, name)
		nak := next(t, r).AckRequest(bridge.Nak)
		_, err = b.Ack(ctx, nak)
		require.NoError(t, err, name)
		require.NoError(t, b.DeleteConsumer(ctx, "O", name))
		require.ErrorIs(t, ended(t, r), bridge.ErrConsumerNotFound, name)
	}
	assert.NotContains(t, logs.String(), "ermission", "NATS reported a permission violation")
}
