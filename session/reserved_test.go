package session_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

// TestPublishToReservedSubjectsSession: a session publish to JetStream's
// API, its acks or an inbox is refused with reserved_subject, with or
// without authentication and whatever the token's publish patterns, and
// nothing happens to the stream.
func TestPublishToReservedSubjectsSession(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "V", "v.>")
	consumer(t, env.Bridge, "V", bridge.ConsumerConfig{Name: "worker"})
	bearer := func(p auth.Permissions) http.Header {
		return http.Header{"Authorization": {"Bearer " + token(t, "mallory", time.Now().Add(time.Hour), p)}}
	}
	open := startServer(t, http1, session.Options{Broker: env.Bridge})
	authed := startServer(t, h2c, session.Options{Broker: env.Bridge, Gate: jwtGate(t)})
	roles := []struct {
		name   string
		srv    *server
		header http.Header
	}{
		{"no authentication", open, nil},
		{"token publish >", authed, bearer(auth.Permissions{Publish: []string{">"}})},
		{"token publish *.>", authed, bearer(auth.Permissions{Publish: []string{"*.>"}})},
	}
	for _, r := range roles {
		c, _, err := dialWith(t, r.srv, []string{"httpmq.v1.json"}, r.header)
		require.NoError(t, err, r.name)
		for i, subject := range []string{"$JS.API.STREAM.DELETE.V", "$JS.API.STREAM.PURGE.V",
			"$JS.API.CONSUMER.CREATE.V.evil", "$JS.ACK.V.worker.1.1.1.0.0", "_INBOX.x", "_httpmq.deliver.x", "$KV.b.k"} {
			f := c.fails(&protocol.Frame{Type: protocol.TypePublish, ID: string(rune('a' + i)), Subject: subject}, protocol.CodeReservedSubject)
			assert.False(t, f.Retryable, "%s: %s", r.name, subject)
		}
	}
	_, err := env.Bridge.Stream(testenv.Context(t), "V")
	require.NoError(t, err, "V still exists")
	cs, err := env.Bridge.Consumers(testenv.Context(t), "V")
	require.NoError(t, err)
	assert.Len(t, cs, 1, "no consumer was created")
}

// TestPublishHeadersSession: sessions hold Nats-* headers to the same
// rules as REST: a roll-up is reserved_header (before the fix it reached
// JetStream and, on a stream allowing roll-ups, wiped its history);
// conditions need a grant and fail as precondition_failed.
func TestPublishHeadersSession(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "KVT", "kvt.*")
	s := startServer(t, http1, session.Options{Broker: env.Bridge, Gate: jwtGate(t)})
	open := startServer(t, h2c, session.Options{Broker: env.Bridge})
	dialAs := func(srv *server, p *auth.Permissions) *client {
		var h http.Header
		if p != nil {
			h = http.Header{"Authorization": {"Bearer " + token(t, "kv", time.Now().Add(time.Hour), *p)}}
		}
		c, _, err := dialWith(t, srv, []string{"httpmq.v1.json"}, h)
		require.NoError(t, err)
		return c
	}
	plain := dialAs(s, &auth.Permissions{Publish: []string{"kvt.*"}})
	granted := dialAs(s, &auth.Permissions{Publish: []string{"kvt.*"}, PublishHeaders: []string{"Nats-Expected-Last-Subject-Sequence"}})
	anonymous := dialAs(open, nil)
	pub := func(id string, h protocol.Header) *protocol.Frame {
		return &protocol.Frame{Type: protocol.TypePublish, ID: id, Subject: "kvt.a", Data: []byte("v"), Headers: h}
	}
	for i := range 3 {
		plain.ok(pub(string(rune('0'+i)), protocol.Header{"X-Trace": {"t"}}))
	}
	for _, c := range []*client{plain, granted, anonymous} {
		c.fails(pub("r1", protocol.Header{"Nats-Rollup": {"all"}}), protocol.CodeReservedHeader)
		c.fails(pub("r2", protocol.Header{"nats-rollup": {"sub"}}), protocol.CodeReservedHeader)
		c.fails(pub("r3", protocol.Header{"Nats-TTL": {"1s"}}), protocol.CodeReservedHeader)
		c.fails(pub("r4", protocol.Header{"Nats-Msg-Id": {"x"}}), protocol.CodeReservedHeader)
	}
	plain.fails(pub("c1", protocol.Header{"Nats-Expected-Last-Subject-Sequence": {"3"}}), protocol.CodeForbidden)
	f := granted.fails(pub("c2", protocol.Header{"Nats-Expected-Last-Subject-Sequence": {"2"}}), protocol.CodePreconditionFailed)
	assert.False(t, f.Retryable)
	granted.fails(pub("c3", protocol.Header{"Nats-Expected-Last-Subject-Sequence": {"x"}}), protocol.CodeBadRequest)
	ok := granted.ok(pub("c4", protocol.Header{"nats-expected-last-subject-sequence": {"3"}}))
	assert.Equal(t, uint64(4), ok.Seq)
	anonymous.fails(pub("c5", protocol.Header{"Nats-Expected-Last-Subject-Sequence": {"3"}}), protocol.CodePreconditionFailed)

	si, err := env.Bridge.Stream(testenv.Context(t), "KVT")
	require.NoError(t, err)
	assert.Equal(t, uint64(4), si.State.Msgs, "the history is intact")
}
