package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

var jwtSecret = []byte("session-test-secret-session-test-secret")

func jwtGate(t *testing.T) *auth.Gate {
	t.Helper()
	j, err := auth.NewJWT(auth.JWTConfig{Secret: jwtSecret})
	require.NoError(t, err)
	return &auth.Gate{Authn: &auth.Tokens{JWT: j}, Authz: auth.Policy{}}
}

func token(t *testing.T, sub string, exp time.Time, p auth.Permissions) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(exp)}, Httpmq: p,
	}).SignedString(jwtSecret)
	require.NoError(t, err)
	return s
}

// dialWith opens a session with extra subprotocols and headers.
func dialWith(t *testing.T, s *server, protocols []string, h http.Header) (*client, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{HTTPClient: s.client, Subprotocols: protocols, HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	require.Equal(t, "httpmq.v1.json", conn.Subprotocol(), "the token subprotocol is never selected")
	c := &client{t: t, conn: conn, codec: protocol.JSONCodec{}}
	c.hello = c.recv()
	return c, resp, nil
}

// TestTokenInSubprotocol: the browser way. The token travels as a
// subprotocol, the server selects only the framing one, and neither the
// token nor any part of it reaches the logs.
func TestTokenInSubprotocol(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s.>")
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := startServer(t, tr, session.Options{Broker: env.Bridge, Gate: jwtGate(t), Logger: log})
			tok := token(t, "alice", time.Now().Add(time.Hour), auth.Permissions{Publish: []string{"s.*"}})
			c, _, err := dialWith(t, s, []string{"httpmq.v1.json", auth.SubprotocolPrefix + tok}, nil)
			require.NoError(t, err)
			c.ok(&protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "s.a", Data: []byte("x")})
			c.fails(&protocol.Frame{Type: protocol.TypePublish, ID: "2", Subject: "t.a"}, protocol.CodeForbidden)
			c.ok(&protocol.Frame{Type: protocol.TypeAuth, ID: "3", Token: tok})

			_, resp, err := dialWith(t, s, []string{"httpmq.v1.json", auth.SubprotocolPrefix + tok + "x"}, nil)
			require.Error(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			_, resp, err = dialWith(t, s, []string{"httpmq.v1.json"}, nil)
			require.Error(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			sig := tok[strings.LastIndexByte(tok, '.')+1:]
			assert.NotContains(t, logs.String(), sig, "a token reached the logs")
		})
	}
}

// TestOrigin: a page of a disallowed origin cannot open a session
// (cross-site WebSocket hijacking); an allowed one can.
func TestOrigin(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	s := startServer(t, http1, session.Options{Broker: env.Bridge, OriginPatterns: []string{"app.example.com"}})
	_, resp, err := dialWith(t, s, []string{"httpmq.v1.json"}, http.Header{"Origin": {"https://evil.example.net"}})
	require.Error(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	c, _, err := dialWith(t, s, []string{"httpmq.v1.json"}, http.Header{"Origin": {"https://app.example.com"}})
	require.NoError(t, err)
	c.send(&protocol.Frame{Type: protocol.TypePing, ID: "1"})
	assert.Equal(t, protocol.TypePong, c.recv().Type)
	_, _, err = dialWith(t, s, []string{"httpmq.v1.json"}, nil)
	require.NoError(t, err, "no Origin: not a browser, allowed")
}

// TestTokenExpiry: a session whose token expires is closed with 4004;
// one that refreshed in time lives on with the new expiry; an auth frame
// for another identity or with a bad token is refused and the session
// goes on.
func TestTokenExpiry(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s.>")
	s := startServer(t, http1, session.Options{Broker: env.Bridge, Gate: jwtGate(t)})
	perms := auth.Permissions{Publish: []string{"s.>"}}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	short := time.Now().Add(2 * time.Second).Truncate(time.Second) // exp has whole seconds
	expiring, _, err := dialWith(t, s, []string{"httpmq.v1.json"}, bearer(token(t, "bob", short, perms)))
	require.NoError(t, err)
	refreshed, _, err := dialWith(t, s, []string{"httpmq.v1.json"}, bearer(token(t, "bob", short, perms)))
	require.NoError(t, err)

	refreshed.fails(&protocol.Frame{Type: protocol.TypeAuth, ID: "1", Token: token(t, "carol", time.Now().Add(time.Hour), perms)}, protocol.CodeForbidden)
	refreshed.fails(&protocol.Frame{Type: protocol.TypeAuth, ID: "2", Token: "not.a.token"}, protocol.CodeUnauthorized)
	refreshed.fails(&protocol.Frame{Type: protocol.TypeAuth, ID: "3", Token: token(t, "bob", time.Now().Add(-time.Second), perms)}, protocol.CodeUnauthorized)
	refreshed.ok(&protocol.Frame{Type: protocol.TypeAuth, ID: "4", Token: token(t, "bob", time.Now().Add(time.Hour), perms)})

	assert.Equal(t, websocket.StatusCode(protocol.CloseAuthExpired), expiring.closed())
	require.True(t, time.Now().After(short), "closed at expiry, not before")
	refreshed.ok(&protocol.Frame{Type: protocol.TypePublish, ID: "5", Subject: "s.a"})
}

// TestRateLimits: publishes over the identity's rate get rate_limited
// with retry_after, and pass again once it has elapsed; sessions over the
// identity's quota are refused with 429.
func TestRateLimits(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	stream(t, env.Bridge, "S", "s.>")
	gate := jwtGate(t)
	gate.Limits = auth.NewLimiter(auth.Limits{PublishRate: 5, SessionsPerIdentity: 1})
	s := startServer(t, http1, session.Options{Broker: env.Bridge, Gate: gate})
	h := http.Header{"Authorization": {"Bearer " + token(t, "dan", time.Now().Add(time.Hour), auth.Permissions{Publish: []string{">"}})}}
	c, _, err := dialWith(t, s, []string{"httpmq.v1.json"}, h)
	require.NoError(t, err)

	var limited *protocol.Frame
	for i := 0; limited == nil; i++ {
		require.Less(t, i, 100, "never limited")
		r, _ := c.call(&protocol.Frame{Type: protocol.TypePublish, ID: "p" + string(rune('a'+i%26)) + string(rune('0'+i/26)), Subject: "s.a"})
		if r.Type == protocol.TypeError {
			require.Equal(t, protocol.CodeRateLimited, protocol.Code(r.Reason))
			limited = r
		}
	}
	assert.True(t, limited.Retryable)
	require.Positive(t, limited.RetryAfter)
	require.LessOrEqual(t, limited.RetryAfter, 200*time.Millisecond)
	// Recovered: publishing works again once the bucket refills.
	n := 0
	testenv.Eventually(t, "publishing allowed again", func() bool {
		n++
		r, _ := c.call(&protocol.Frame{Type: protocol.TypePublish, ID: fmt.Sprint("after", n), Subject: "s.a"})
		return r.Type == protocol.TypeOK
	})

	_, resp, err := dialWith(t, s, []string{"httpmq.v1.json"}, h)
	require.Error(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
}
