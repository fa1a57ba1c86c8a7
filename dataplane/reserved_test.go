package dataplane_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

var reservedSecret = []byte("reserved-test-secret-reserved-test-secret")

// jwtOptions are dataplane options that authenticate HS256 tokens.
func jwtOptions(t *testing.T) dataplane.Options {
	t.Helper()
	j, err := auth.NewJWT(auth.JWTConfig{Secret: reservedSecret})
	require.NoError(t, err)
	return dataplane.Options{Gate: &auth.Gate{Authn: &auth.Tokens{JWT: j}, Authz: auth.Policy{}}}
}

// bearer is the Authorization header of a token with perms.
func bearer(t *testing.T, perms auth.Permissions) http.Header {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "mallory", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		Httpmq:           perms,
	}).SignedString(reservedSecret)
	require.NoError(t, err)
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// TestPublishToReservedSubjectsREST: the attacks of a publish-only token
// on JetStream's control plane through POST /v1/data/subject/…, and the
// same without authentication on loopback. Each is refused with
// reserved_subject (403 when authorization refuses it, 400 without
// authentication) and nothing happens to the streams and consumers.
func TestPublishToReservedSubjectsREST(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b, ctx := env.Bridge, testenv.Context(t)
	createStream(t, b, "V", "v.>")
	createStream(t, b, "X", "x.>")
	createConsumer(t, b, "V", bridge.ConsumerConfig{Name: "worker", AckWait: time.Minute})
	publishN(t, b, "v.a", 2)

	open := serveBridge(t, b, "h2c", dataplane.Options{})
	authed := serveBridge(t, b, "http1", jwtOptions(t))
	// One delivery of V/worker stays pending: the target of the ack attack.
	d := open.subscribe(t, "/v1/data/stream/V/consumer/worker", nil).next(t)
	ackSubject := "$JS.ACK.V.worker.1." + strconv.FormatUint(d.Sequence.Stream, 10) + "." +
		strconv.FormatUint(d.Sequence.Consumer, 10) + "." + strconv.FormatInt(time.Now().UnixNano(), 10) + ".0"

	attacks := []struct{ name, subject, body string }{
		{"delete a stream", "$JS.API.STREAM.DELETE.V", ""},
		{"purge a stream", "$JS.API.STREAM.PURGE.V", ""},
		{"create a consumer", "$JS.API.CONSUMER.CREATE.V.evil", `{"stream_name":"V","config":{"name":"evil","durable_name":"evil","ack_policy":"explicit"}}`},
		{"turn a permitted stream into a copy", "$JS.API.STREAM.UPDATE.X", `{"name":"X","subjects":["x.>","stolen.>"],"sources":[{"name":"V"}]}`},
		{"ack another's delivery", ackSubject, "+ACK"},
		{"write into a request inbox", "_INBOX.abc", "x"},
		{"write into httpmq's deliveries", "_httpmq.deliver.abc", "x"},
		{"write into a KV bucket", "$KV.bucket.key", "x"},
		{"ask the system account", "$SYS.REQ.SERVER.PING", ""},
		{"answer a service import", "_R_.abc", "x"},
	}
	roles := []struct {
		name   string
		srv    *server
		header http.Header
		status int
	}{
		{"no authentication", open, nil, http.StatusBadRequest},
		{"token publish >", authed, bearer(t, auth.Permissions{Publish: []string{">"}}), http.StatusForbidden},
		{"token publish *.>", authed, bearer(t, auth.Permissions{Publish: []string{"*.>"}}), http.StatusForbidden},
	}
	for _, r := range roles {
		for _, a := range attacks {
			h := http.Header{dataplane.EncodingHeader: {"raw"}}
			for k, v := range r.header {
				h[k] = v
			}
			got := r.srv.do(t, http.MethodPost, "/v1/data/subject/"+a.subject, []byte(a.body), h)
			assert.Equal(t, r.status, got.Status, "%s: %s: %+v", r.name, a.name, got.Error)
			assert.Equal(t, protocol.CodeReservedSubject, got.code(), "%s: %s: %+v", r.name, a.name, got.Error)
		}
	}

	v, err := b.Stream(ctx, "V")
	require.NoError(t, err, "V still exists")
	assert.Equal(t, uint64(2), v.State.Msgs, "V was not purged")
	cs, err := b.Consumers(ctx, "V")
	require.NoError(t, err)
	require.Len(t, cs, 1, "no consumer was created")
	assert.Equal(t, 1, cs[0].NumAckPending, "the delivery is still pending")
	x, err := b.Stream(ctx, "X")
	require.NoError(t, err)
	assert.Equal(t, []string{"x.>"}, x.Config.Subjects, "X was not changed")
}

// TestPublishHeadersREST: Nats-* headers reach JetStream only when they
// are conditional and granted; refusals say precisely why.
func TestPublishHeadersREST(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	createStream(t, b, "KVT", "kvt.*")
	publishN(t, b, "kvt.a", 3)
	open := serveBridge(t, b, "http1", dataplane.Options{})
	authed := serveBridge(t, b, "h2-tls", jwtOptions(t))
	plain := bearer(t, auth.Permissions{Publish: []string{"kvt.*"}})
	granted := bearer(t, auth.Permissions{Publish: []string{"kvt.*"}, PublishHeaders: []string{"Nats-Expected-Last-Subject-Sequence"}})
	with := func(h http.Header, kv ...string) http.Header {
		out := http.Header{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name   string
		srv    *server
		header http.Header
		status int
		code   protocol.Code
	}{
		{"roll-up, no authentication", open, with(nil, "Httpmq-Header-Nats-Rollup", "all"), 400, protocol.CodeReservedHeader},
		{"roll-up", authed, with(plain, "Httpmq-Header-Nats-Rollup", "all"), 403, protocol.CodeReservedHeader},
		{"roll-up with every grant", authed, with(granted, "Httpmq-Header-Nats-Rollup", "sub"), 403, protocol.CodeReservedHeader},
		{"TTL", authed, with(plain, "Httpmq-Header-Nats-Ttl", "1s"), 403, protocol.CodeReservedHeader},
		{"message id as a header", authed, with(plain, "Httpmq-Header-Nats-Msg-Id", "x"), 403, protocol.CodeReservedHeader},
		{"condition not granted", authed, with(plain, "Httpmq-Header-Nats-Expected-Last-Subject-Sequence", "3"), 403, protocol.CodeForbidden},
		{"condition fails", authed, with(granted, "Httpmq-Header-Nats-Expected-Last-Subject-Sequence", "2"), 412, protocol.CodePreconditionFailed},
		{"condition not a number", authed, with(granted, "Httpmq-Header-Nats-Expected-Last-Subject-Sequence", "three"), 400, protocol.CodeBadRequest},
		{"condition holds", authed, with(granted, "Httpmq-Header-Nats-Expected-Last-Subject-Sequence", "3"), 200, ""},
		{"condition fails, no authentication", open, with(nil, "Httpmq-Header-Nats-Expected-Last-Subject-Sequence", "3"), 412, protocol.CodePreconditionFailed},
	}
	for _, c := range cases {
		got := c.srv.do(t, http.MethodPost, "/v1/data/subject/kvt.a", []byte("eA=="), c.header)
		assert.Equal(t, c.status, got.Status, "%s: %+v", c.name, got.Error)
		assert.Equal(t, c.code, got.code(), "%s: %+v", c.name, got.Error)
		if got.Error != nil {
			assert.False(t, got.Error.Retryable, "%s: refusals are not retryable", c.name)
		}
	}
	si, err := b.Stream(testenv.Context(t), "KVT")
	require.NoError(t, err)
	assert.Equal(t, uint64(4), si.State.Msgs, "only the publish whose condition held was stored")
}
