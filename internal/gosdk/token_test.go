package gosdk_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/protocol"
)

var jwtSecret = []byte("gosdk-test-secret-gosdk-test-secret!")

// jwtServer is a real httpmq that requires HS256 JWTs on every API.
func jwtServer(t *testing.T) *server {
	t.Helper()
	j, err := auth.NewJWT(auth.JWTConfig{Secret: jwtSecret})
	require.NoError(t, err)
	return startGated(t, h2c, &auth.Gate{Authn: &auth.Tokens{JWT: j}, Authz: auth.Policy{}})
}

// everything a test token may do.
var allowAll = auth.Permissions{Admin: auth.AdminFull, Publish: []string{">"}, Subscribe: []string{"*/*"}}

// mint signs a token for sub that expires after life (JWT exp has whole
// seconds: the token lives between life-1s and life).
func mint(t *testing.T, sub string, life time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(life))},
		Httpmq:           allowAll,
	}).SignedString(jwtSecret)
	require.NoError(t, err)
	return s
}

// provider is a token provider for tests: it counts its calls and asks
// answer for each (n is 1-based).
type provider struct {
	calls  atomic.Int32
	answer func(n int) (string, error)
}

func (p *provider) token(context.Context) (string, error) {
	return p.answer(int(p.calls.Add(1)))
}

// eventsOf returns the recorded events of kind k.
func (e *events) of(k httpmq.EventKind) []httpmq.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []httpmq.Event
	for _, ev := range e.list {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// roundTrip publishes one message on subject and reads it from sub.
func roundTrip(t *testing.T, s *httpmq.Session, sub *httpmq.Subscription, subject, data string) {
	t.Helper()
	_, err := s.Publish(ctx(t), subject, []byte(data), nil)
	require.NoError(t, err)
	m := next(t, sub)
	assert.Equal(t, data, string(m.Data))
	require.NoError(t, m.Ack(ctx(t)))
}

// A session whose token is short-lived lives past several expiries: it
// sends a fresh token in an auth frame before each one, over the same
// connection; the REST clients take their tokens from the same hook.
func TestSessionTokenRefresh(t *testing.T) {
	srv := jwtServer(t)
	// 6 s tokens: each is refreshed 1 s or more before its exp, which
	// leaves the auth round trip time even on a loaded machine.
	p := &provider{answer: func(int) (string, error) { return mint(t, "alice", 6*time.Second), nil }}
	a := httpmq.NewAdminClient(srv.URL, &httpmq.ClientOptions{HTTPClient: srv.client, Token: p.token})
	setup(t, a, "TOK", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePull})
	restCalls := p.calls.Load()
	assert.GreaterOrEqual(t, restCalls, int32(2), "one token per REST request")

	var ev events
	s := srv.dial(t, &httpmq.SessionOptions{Token: p.token, OnEvent: ev.add})
	sub, err := s.Subscribe(ctx(t), "TOK", "c", nil)
	require.NoError(t, err)
	started := time.Now()
	const refreshes = 3
	for i := range refreshes {
		waitFor(t, "a token refresh", func() bool { return len(ev.of(httpmq.EventTokenRefreshed)) > i })
		roundTrip(t, s, sub, "TOK.a", "after refresh")
	}
	assert.Greater(t, time.Since(started), 2*5*time.Second, "the session outlived two tokens at least")
	assert.Empty(t, ev.of(httpmq.EventDisconnected), "one connection all along")
	assert.Empty(t, ev.of(httpmq.EventTokenError))
	assert.Equal(t, restCalls+1+refreshes, p.calls.Load(), "one token for the handshake and one per refresh")
}

// A refresh the server refuses (the provider's token names another
// identity) is reported; the server closes the connection at expiry with
// 4004 and the session reconnects with a fresh token from the provider,
// restoring its subscription.
func TestSessionTokenRefusedRefresh(t *testing.T) {
	srv := jwtServer(t)
	a := httpmq.NewAdminClient(srv.URL, &httpmq.ClientOptions{HTTPClient: srv.client,
		Header: http.Header{"Authorization": {"Bearer " + mint(t, "admin", time.Hour)}}})
	setup(t, a, "TOK", httpmq.NewConsumer{Name: "c", Mode: httpmq.ModePush})

	p := &provider{answer: func(n int) (string, error) {
		if n == 2 { // the first refresh: another identity, refused
			return mint(t, "mallory", time.Hour), nil
		}
		return mint(t, "alice", 6*time.Second), nil // refreshed 1 s or more before exp
	}}
	var ev events
	s := srv.dial(t, &httpmq.SessionOptions{Token: p.token, OnEvent: ev.add})
	first := s.Hello().Session
	sub, err := s.Subscribe(ctx(t), "TOK", "c", nil)
	require.NoError(t, err)

	waitFor(t, "the refused refresh", func() bool { return len(ev.of(httpmq.EventTokenError)) > 0 })
	refused := ev.of(httpmq.EventTokenError)[0]
	assert.ErrorIs(t, refused.Err, &protocol.Error{Code: protocol.CodeForbidden}, "%v", refused.Err)

	waitFor(t, "the reconnection", func() bool { return len(ev.of(httpmq.EventResubscribed)) > 0 })
	dis := ev.of(httpmq.EventDisconnected)
	require.NotEmpty(t, dis)
	assert.Equal(t, websocket.StatusCode(protocol.CloseAuthExpired), websocket.CloseStatus(dis[0].Err), "%v", dis[0].Err)
	assert.NotEqual(t, first, s.Hello().Session, "a new connection")
	assert.GreaterOrEqual(t, p.calls.Load(), int32(3), "the new connection has a fresh token")
	require.NoError(t, s.Err())
	roundTrip(t, s, sub, "TOK.a", "after reconnect")
}

// A provider that fails is reported and not called in a loop: a failed
// refresh waits for the server's 4004, a failed reconnect attempt backs
// off and counts towards MaxReconnects; the session then ends with the
// provider's error.
func TestSessionTokenProviderFails(t *testing.T) {
	srv := jwtServer(t)
	down := errors.New("identity provider down")
	p := &provider{answer: func(n int) (string, error) {
		if n == 1 {
			return mint(t, "alice", 2*time.Second), nil
		}
		return "", down
	}}
	var ev events
	sess, err := httpmq.Dial(ctx(t), srv.WSURL, &httpmq.SessionOptions{Token: p.token, OnEvent: ev.add,
		MaxReconnects: 3, ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 100 * time.Millisecond})
	require.NoError(t, err)
	defer sess.Close()
	select {
	case <-sess.Done():
	case <-ctx(t).Done():
		t.Fatal("the session did not give up")
	}
	assert.ErrorIs(t, sess.Err(), httpmq.ErrToken)
	assert.ErrorIs(t, sess.Err(), down)
	assert.Len(t, ev.of(httpmq.EventTokenError), 1+3, "the refresh and each reconnect attempt")
	assert.Equal(t, int32(1+1+3), p.calls.Load(), "handshake, refresh, three attempts: no more")

	_, err = httpmq.Dial(ctx(t), srv.WSURL, &httpmq.SessionOptions{Token: p.token})
	assert.ErrorIs(t, err, down, "Dial reports the provider's failure")
	a := httpmq.NewAdminClient(srv.URL, &httpmq.ClientOptions{HTTPClient: srv.client, Token: p.token})
	_, err = a.Streams(ctx(t))
	assert.ErrorIs(t, err, httpmq.ErrToken)
	assert.ErrorIs(t, err, down)
}

// Without a provider, the static credentials of Header cannot be renewed:
// 4004 ends the session instead of reconnecting with a stale token.
func TestSessionStaticTokenExpires(t *testing.T) {
	srv := jwtServer(t)
	var ev events
	sess, err := httpmq.Dial(ctx(t), srv.WSURL, &httpmq.SessionOptions{OnEvent: ev.add,
		Header: http.Header{"Authorization": {"Bearer " + mint(t, "alice", 2*time.Second)}}})
	require.NoError(t, err)
	defer sess.Close()
	select {
	case <-sess.Done():
	case <-ctx(t).Done():
		t.Fatal("the session did not end")
	}
	var ce *httpmq.CloseError
	require.ErrorAs(t, sess.Err(), &ce)
	assert.Equal(t, protocol.CloseAuthExpired, ce.Code)
	assert.Empty(t, ev.of(httpmq.EventReconnected))
}
