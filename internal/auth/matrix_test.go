package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

// outcome of one action for one role.
type outcome string

const (
	allow    outcome = "allow"    // neither 401 nor 403
	deny     outcome = "deny"     // 403 forbidden / error frame forbidden
	unauth   outcome = "unauth"   // 401 unauthorized / handshake refused
	reserved outcome = "reserved" // 403 / error frame reserved_subject or reserved_header
)

// role is a caller in the matrix: its credentials and what it may do.
type role struct {
	name  string
	token func(t *testing.T) string // "" sends no credentials
	// may lists the actions (by name) this role is allowed; every other
	// is denied. nil with unauthenticated: everything is 401.
	may           []string
	authenticated bool
}

// TestPermissionMatrix runs every admin route, dataplane route and
// session command as every role against the real handlers on a real
// embedded JetStream, and checks allow / deny / unauthenticated. The
// attacks on JetStream's control plane (docs/security.md, "Threat
// model") are rows too: publishing to $JS.API.…, $JS.ACK.…, inboxes and
// httpmq's subjects, with Nats-* command headers, streams capturing
// reserved subjects, and tokens offered where they do not belong.
func TestPermissionMatrix(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	ctx := testenv.Context(t)
	_, err := env.Bridge.CreateStream(ctx, bridge.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>", "payments.>"}})
	require.NoError(t, err)
	for _, c := range []string{"worker", "other"} {
		_, err = env.Bridge.CreateConsumer(ctx, "ORDERS", bridge.ConsumerConfig{Name: c})
		require.NoError(t, err)
	}
	_, err = env.Bridge.Publish(ctx, bridge.Message{Subject: "orders.eu", Data: []byte("x")})
	require.NoError(t, err)

	gate := &auth.Gate{Authn: hsTokens(t), Authz: auth.Policy{}}
	sessions := session.New(session.Options{Broker: env.Bridge, Gate: gate, Logger: testenv.Logger()})
	rest := dataplane.New(dataplane.Options{Bridge: env.Bridge, Gate: gate, Logger: testenv.Logger()})
	mux := http.NewServeMux()
	mux.Handle("/v1/admin/", admin.New(admin.Options{Bridge: env.Bridge, Gate: gate, Logger: testenv.Logger()}))
	mux.Handle("/v1/data/", rest)
	mux.Handle("/v1/session", sessions)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sessions.Shutdown(ctx)
		_ = rest.Shutdown(ctx)
		ts.Close()
	})

	tok := func(sub string, ttl time.Duration, p auth.Permissions, secret []byte) func(*testing.T) string {
		return func(t *testing.T) string { return sign(t, secret, sub, ttl, p) }
	}
	wrong := []byte("not-the-server-secret-not-the-server-secret")
	adminReads := []string{"GET streams", "GET stream", "GET message", "GET consumers", "GET consumer"}
	adminWrites := []string{"POST stream", "PUT stream", "PUT subject", "PUT limit", "POST purge",
		"POST consumer", "DELETE consumer", "DELETE stream"}
	roles := []role{
		{name: "none", token: func(*testing.T) string { return "" }},
		{name: "bad signature", token: tok("eve", time.Hour, auth.Permissions{Admin: auth.AdminFull}, wrong)},
		{name: "expired", token: tok("old", -time.Minute, auth.Permissions{Admin: auth.AdminFull, Publish: []string{">"}}, testSecret)},
		{name: "publish orders.*", authenticated: true,
			token: tok("pub", time.Hour, auth.Permissions{Publish: []string{"orders.*"}}, testSecret),
			may:   []string{"publish orders.eu", "session publish orders.eu"}},
		{name: "subscribe ORDERS/worker", authenticated: true,
			token: tok("sub", time.Hour, auth.Permissions{Subscribe: []string{"ORDERS/worker"}}, testSecret),
			may:   []string{"subscribe worker", "ack worker", "nak worker", "session subscribe worker", "session ack worker"}},
		{name: "admin read", authenticated: true,
			token: tok("reader", time.Hour, auth.Permissions{Admin: auth.AdminReadOnly}, testSecret),
			may:   adminReads},
		{name: "admin full", authenticated: true,
			token: tok("root", time.Hour, auth.Permissions{Admin: auth.AdminFull}, testSecret),
			may:   append(append([]string{}, adminReads...), adminWrites...)},
		{name: "publish >", authenticated: true,
			token: tok("wide", time.Hour, auth.Permissions{Publish: []string{">"}}, testSecret),
			may:   []string{"publish orders.eu", "publish payments.eu", "session publish orders.eu", "session publish payments.eu"}},
		{name: "publish *.>", authenticated: true,
			token: tok("wide2", time.Hour, auth.Permissions{Publish: []string{"*.>"}}, testSecret),
			may:   []string{"publish orders.eu", "publish payments.eu", "session publish orders.eu", "session publish payments.eu"}},
		{name: "publish orders.* expecting a stream", authenticated: true,
			token: tok("careful", time.Hour, auth.Permissions{Publish: []string{"orders.*"}, PublishHeaders: []string{"Nats-Expected-Stream"}}, testSecret),
			may: []string{"publish orders.eu", "session publish orders.eu",
				"publish orders.eu expecting ORDERS", "session publish orders.eu expecting ORDERS"}},
	}

	type call struct {
		name, method, path, body string
		header                   http.Header
	}
	// Writes target stream SCRATCH in lifecycle order, so that the one
	// role allowed them really creates, changes and deletes it.
	restCalls := []call{
		{"GET streams", "GET", "/v1/admin/stream", "", nil},
		{"GET stream", "GET", "/v1/admin/stream/ORDERS", "", nil},
		{"GET message", "GET", "/v1/admin/stream/ORDERS/message/1", "", nil},
		{"GET consumers", "GET", "/v1/admin/stream/ORDERS/consumer", "", nil},
		{"GET consumer", "GET", "/v1/admin/stream/ORDERS/consumer/worker", "", nil},
		{"POST stream", "POST", "/v1/admin/stream", `{"name":"SCRATCH","subjects":["scratch.>"]}`, nil},
		{"PUT stream", "PUT", "/v1/admin/stream/SCRATCH", `{"subjects":["scratch.>"],"max_msgs":10}`, nil},
		{"PUT subject", "PUT", "/v1/admin/stream/SCRATCH/subject", `{"subjects":["scratch.>","more.>"]}`, nil},
		{"PUT limit", "PUT", "/v1/admin/stream/SCRATCH/limit", `{"max_msgs":20}`, nil},
		{"POST purge", "POST", "/v1/admin/stream/SCRATCH/purge", ``, nil},
		{"POST consumer", "POST", "/v1/admin/stream/SCRATCH/consumer", `{"name":"c","mode":"pull"}`, nil},
		{"DELETE consumer", "DELETE", "/v1/admin/stream/SCRATCH/consumer/c", "", nil},
		{"DELETE stream", "DELETE", "/v1/admin/stream/SCRATCH", "", nil},
		{"publish orders.eu", "POST", "/v1/data/subject/orders.eu", "eA==", nil},
		{"publish payments.eu", "POST", "/v1/data/subject/payments.eu", "eA==", nil},
		{"subscribe worker", "GET", "/v1/data/stream/ORDERS/consumer/worker", "", nil},
		{"subscribe other", "GET", "/v1/data/stream/ORDERS/consumer/other", "", nil},
		{"ack worker", "POST", "/v1/data/stream/ORDERS/consumer/worker/ack", `{"stream":1,"consumer":1}`, nil},
		{"nak worker", "POST", "/v1/data/stream/ORDERS/consumer/worker/nak", `{"stream":1,"consumer":1}`, nil},
		{"ack other", "POST", "/v1/data/stream/ORDERS/consumer/other/ack", `{"stream":1,"consumer":1}`, nil},
		{"publish orders.eu expecting ORDERS", "POST", "/v1/data/subject/orders.eu", "eA==", http.Header{"Httpmq-Header-Nats-Expected-Stream": {"ORDERS"}}},
		// Attacks: each is refused whatever the permissions.
		{"publish $JS.API.STREAM.DELETE.ORDERS", "POST", "/v1/data/subject/$JS.API.STREAM.DELETE.ORDERS", "", nil},
		{"publish $JS.API.STREAM.PURGE.ORDERS", "POST", "/v1/data/subject/$JS.API.STREAM.PURGE.ORDERS", "", nil},
		{"publish $JS.API.CONSUMER.CREATE.ORDERS.evil", "POST", "/v1/data/subject/$JS.API.CONSUMER.CREATE.ORDERS.evil", "", nil},
		{"publish $JS.API.STREAM.UPDATE.ORDERS", "POST", "/v1/data/subject/$JS.API.STREAM.UPDATE.ORDERS", "", nil},
		{"publish $JS.ACK.ORDERS.worker", "POST", "/v1/data/subject/$JS.ACK.ORDERS.worker.1.1.1.0.0", "", nil},
		{"publish _INBOX.x", "POST", "/v1/data/subject/_INBOX.x", "eA==", nil},
		{"publish _httpmq.deliver.x", "POST", "/v1/data/subject/_httpmq.deliver.x", "eA==", nil},
		{"publish orders.eu with Nats-Rollup", "POST", "/v1/data/subject/orders.eu", "eA==", http.Header{"Httpmq-Header-Nats-Rollup": {"all"}}},
		{"POST stream on _INBOX.>", "POST", "/v1/admin/stream", `{"name":"EVIL","subjects":["_INBOX.>"]}`, nil},
		{"POST stream on _httpmq.>", "POST", "/v1/admin/stream", `{"name":"EVIL","subjects":["_httpmq.>"]}`, nil},
		{"POST stream on >", "POST", "/v1/admin/stream", `{"name":"EVIL","subjects":[">"]}`, nil},
		{"PUT subject adding $KV.b.>", "PUT", "/v1/admin/stream/ORDERS/subject", `{"subjects":["orders.>","payments.>","$KV.b.>"]}`, nil},
		{"GET streams (token as subprotocol)", "GET", "/v1/admin/stream", "", http.Header{"Sec-WebSocket-Protocol": {auth.SubprotocolPrefix}}},
	}
	// attacks are refused with reserved_subject / reserved_header (403)
	// for anyone authenticated: publishes whatever the permissions, stream
	// definitions once the admin right is there (before, forbidden).
	attacks, adminAttacks := map[string]bool{}, map[string]bool{}
	for _, c := range restCalls[slices.IndexFunc(restCalls, func(c call) bool { return strings.HasPrefix(c.name, "publish $") }):] {
		switch {
		case strings.HasPrefix(c.path, "/v1/admin/stream"):
			adminAttacks[c.name] = true
		case strings.HasPrefix(c.path, "/v1/data/subject/"):
			attacks[c.name], attacks["session "+c.name] = true, true
		}
	}
	sessionCalls := []*protocol.Frame{
		{Type: protocol.TypeSubscribe, ID: "session subscribe worker", Sub: "w", Stream: "ORDERS", Consumer: "worker"},
		{Type: protocol.TypeSubscribe, ID: "session subscribe other", Sub: "o", Stream: "ORDERS", Consumer: "other"},
		{Type: protocol.TypePublish, ID: "session publish orders.eu", Subject: "orders.eu", Data: []byte("x")},
		{Type: protocol.TypePublish, ID: "session publish payments.eu", Subject: "payments.eu", Data: []byte("x")},
		{Type: protocol.TypeAck, ID: "session ack worker", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1, ConsumerSeq: 1},
		{Type: protocol.TypeAck, ID: "session ack other", Stream: "ORDERS", Consumer: "other", StreamSeq: 1, ConsumerSeq: 1},
		{Type: protocol.TypePublish, ID: "session publish orders.eu expecting ORDERS", Subject: "orders.eu", Headers: protocol.Header{"Nats-Expected-Stream": {"ORDERS"}}},
		{Type: protocol.TypePublish, ID: "session publish $JS.API.STREAM.DELETE.ORDERS", Subject: "$JS.API.STREAM.DELETE.ORDERS"},
		{Type: protocol.TypePublish, ID: "session publish $JS.API.STREAM.PURGE.ORDERS", Subject: "$JS.API.STREAM.PURGE.ORDERS"},
		{Type: protocol.TypePublish, ID: "session publish $JS.API.CONSUMER.CREATE.ORDERS.evil", Subject: "$JS.API.CONSUMER.CREATE.ORDERS.evil"},
		{Type: protocol.TypePublish, ID: "session publish $JS.API.STREAM.UPDATE.ORDERS", Subject: "$JS.API.STREAM.UPDATE.ORDERS"},
		{Type: protocol.TypePublish, ID: "session publish $JS.ACK.ORDERS.worker", Subject: "$JS.ACK.ORDERS.worker.1.1.1.0.0"},
		{Type: protocol.TypePublish, ID: "session publish _INBOX.x", Subject: "_INBOX.x", Data: []byte("x")},
		{Type: protocol.TypePublish, ID: "session publish _httpmq.deliver.x", Subject: "_httpmq.deliver.x", Data: []byte("x")},
		{Type: protocol.TypePublish, ID: "session publish orders.eu with Nats-Rollup", Subject: "orders.eu", Headers: protocol.Header{"Nats-Rollup": {"all"}}},
	}

	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			token := r.token(t)
			want := func(action string) outcome {
				switch {
				case !r.authenticated, strings.HasSuffix(action, "(token as subprotocol)"):
					return unauth
				case attacks[action], adminAttacks[action] && contains(r.may, "POST stream"):
					return reserved
				case contains(r.may, action):
					return allow
				}
				return deny
			}
			for _, c := range restCalls {
				got := restOutcome(t, ts.URL, c.method, c.path, c.body, token, c.header)
				assert.Equal(t, want(c.name), got, "%s %s", c.method, c.path)
			}
			// Session: the handshake, then each command.
			conn, resp, err := dialWS(ts.URL, token)
			if !r.authenticated {
				require.Error(t, err, "handshake must be refused")
				require.NotNil(t, resp)
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				return
			}
			require.NoError(t, err)
			defer conn.CloseNow()
			codec := protocol.JSONCodec{}
			for _, f := range sessionCalls {
				reply := roundTrip(t, conn, codec, f)
				got := allow
				if reply.Type == protocol.TypeError {
					switch protocol.Code(reply.Reason) {
					case protocol.CodeForbidden:
						got = deny
					case protocol.CodeUnauthorized:
						got = unauth
					case protocol.CodeReservedSubject, protocol.CodeReservedHeader:
						got = reserved
					}
				}
				assert.Equal(t, want(f.ID), got, "session %s: %+v", f.ID, reply)
				if f.Type == protocol.TypeSubscribe && reply.Type == protocol.TypeOK {
					roundTrip(t, conn, codec, &protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "u" + f.Sub, Sub: f.Sub})
				}
			}
			// Liveness and readiness need no credentials.
			for _, p := range []string{"/v1/admin/alive", "/v1/data/alive"} {
				assert.Equal(t, allow, restOutcome(t, ts.URL, "GET", p, "", "", nil), p)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// restOutcome does one request; a subscription stream is closed as soon
// as its status is known. The token goes in the Authorization header,
// or appended to a Sec-WebSocket-Protocol header that header gives.
func restOutcome(t *testing.T, base, method, path, body, token string, header http.Header) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	switch {
	case token == "":
	case req.Header.Get("Sec-WebSocket-Protocol") != "":
		req.Header.Set("Sec-WebSocket-Protocol", req.Header.Get("Sec-WebSocket-Protocol")+token)
	default:
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return unauth
	case http.StatusForbidden:
		if r := reason(t, resp.Body); r == string(protocol.CodeReservedSubject) || r == string(protocol.CodeReservedHeader) {
			return reserved
		}
		return deny
	}
	if resp.StatusCode >= 400 && method != http.MethodPost || strings.Contains(path, "/admin/") && resp.StatusCode >= 400 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Logf("%s %s allowed but failed: %d %s", method, path, resp.StatusCode, b.String())
		if strings.Contains(path, "/admin/") {
			return outcome(fmt.Sprintf("failed %d", resp.StatusCode))
		}
	}
	return allow
}

// reason is the machine-readable reason of an error answer: error.code
// as a string, or error.reason once code is the HTTP status (issue 12).
func reason(t *testing.T, body io.Reader) string {
	t.Helper()
	var e struct {
		Error struct {
			Code   any    `json:"code"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	require.NoError(t, json.NewDecoder(body).Decode(&e))
	if e.Error.Reason != "" {
		return e.Error.Reason
	}
	code, _ := e.Error.Code.(string)
	return code
}

func dialWS(base, token string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/session",
		&websocket.DialOptions{Subprotocols: []string{"httpmq.v1.json"}, HTTPHeader: h})
}

// roundTrip sends f and returns the reply with its id, skipping others.
func roundTrip(t *testing.T, conn *websocket.Conn, codec protocol.Codec, f *protocol.Frame) *protocol.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := codec.Encode(f)
	require.NoError(t, err)
	require.NoError(t, conn.Write(ctx, websocket.MessageText, b))
	for {
		_, data, err := conn.Read(ctx)
		require.NoError(t, err)
		var reply *protocol.Frame
		protocol.Frames(codec, data, func(r *protocol.Frame, err error) {
			require.NoError(t, err)
			if r.ID == f.ID && (r.Type == protocol.TypeOK || r.Type == protocol.TypeError) {
				reply = r
			}
		})
		if reply != nil {
			return reply
		}
	}
}
