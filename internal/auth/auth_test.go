package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// sign returns an HS256 token for sub with perms, expiring after ttl.
func sign(t testing.TB, secret []byte, sub string, ttl time.Duration, perms auth.Permissions) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))},
		Httpmq:           perms,
	}).SignedString(secret)
	require.NoError(t, err)
	return tok
}

func hsTokens(t testing.TB) *auth.Tokens {
	t.Helper()
	j, err := auth.NewJWT(auth.JWTConfig{Secret: testSecret})
	require.NoError(t, err)
	return &auth.Tokens{JWT: j}
}

func TestPermissionsAllow(t *testing.T) {
	p := auth.Permissions{Admin: auth.AdminReadOnly, Publish: []string{"orders.*", "audit.>"}, Subscribe: []string{"ORDERS/worker", "AUDIT/*"},
		Listen: []string{"prices.>", "news.*"}}
	for _, tc := range []struct {
		a    auth.Action
		want bool
	}{
		{auth.Action{Kind: auth.AdminRead}, true},
		{auth.Action{Kind: auth.AdminWrite}, false},
		{auth.Action{Kind: auth.Publish, Subject: "orders.eu"}, true},
		{auth.Action{Kind: auth.Publish, Subject: "orders.eu.created"}, false},
		{auth.Action{Kind: auth.Publish, Subject: "orders"}, false},
		{auth.Action{Kind: auth.Publish, Subject: "audit.a.b.c"}, true},
		{auth.Action{Kind: auth.Publish, Subject: "orders.>"}, false},
		{auth.Action{Kind: auth.Subscribe, Stream: "ORDERS", Consumer: "worker"}, true},
		{auth.Action{Kind: auth.Ack, Stream: "ORDERS", Consumer: "worker"}, true},
		{auth.Action{Kind: auth.Subscribe, Stream: "ORDERS", Consumer: "other"}, false},
		{auth.Action{Kind: auth.Subscribe, Stream: "AUDIT", Consumer: "any"}, true},
		{auth.Action{Kind: auth.Listen, Subject: "prices.eur"}, true},
		{auth.Action{Kind: auth.Listen, Subject: "prices.*"}, true},
		{auth.Action{Kind: auth.Listen, Subject: "news.*"}, true},
		{auth.Action{Kind: auth.Listen, Subject: "news.>"}, false},
		{auth.Action{Kind: auth.Listen, Subject: ">"}, false},
		{auth.Action{Kind: auth.Listen, Subject: "orders.eu"}, false},
		{auth.Action{Kind: auth.Subscribe, Stream: "prices.>", Consumer: "x"}, false},
		{auth.Action{Kind: "unknown"}, false},
	} {
		assert.Equal(t, tc.want, p.Allows(tc.a), "%s", tc.a)
	}
	assert.True(t, auth.Permissions{Admin: auth.AdminFull}.Allows(auth.Action{Kind: auth.AdminWrite}))
	assert.False(t, auth.Permissions{Admin: auth.AdminFull}.Allows(auth.Action{Kind: auth.Publish, Subject: "x"}),
		"admin rights do not include the dataplane")
}

func TestParseAPIKey(t *testing.T) {
	h := auth.HashAPIKey("hmq_secret")
	k, err := auth.ParseAPIKey("ci " + h + " admin=read publish=orders.*,audit.> subscribe=ORDERS/worker")
	require.NoError(t, err)
	assert.Equal(t, auth.APIKey{Name: "ci", SHA256: h, Perms: auth.Permissions{
		Admin: auth.AdminReadOnly, Publish: []string{"orders.*", "audit.>"}, Subscribe: []string{"ORDERS/worker"}}}, k)

	k, err = auth.ParseAPIKey(`ops sha256:` + h + ` {"admin":"full"}`)
	require.NoError(t, err)
	assert.Equal(t, auth.AdminFull, k.Perms.Admin)

	for _, bad := range []string{"", "name", "n " + h + " admin=root", "n " + h + " subscribe=ORDERS", "n " + h + " color=red", `n ` + h + ` {"admin":"x"}`} {
		_, err := auth.ParseAPIKey(bad)
		assert.Error(t, err, bad)
	}
	_, err = auth.NewAPIKeys([]auth.APIKey{{Name: "x", SHA256: "abc"}})
	assert.Error(t, err, "short digest")
	_, err = auth.NewAPIKeys([]auth.APIKey{{Name: "x", SHA256: h}, {Name: "y", SHA256: h}})
	assert.Error(t, err, "duplicate digest")
}

func TestTokenFrom(t *testing.T) {
	req := func(method, target string, h ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		for i := 0; i < len(h); i += 2 {
			r.Header.Add(h[i], h[i+1])
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		r       *http.Request
		query   bool
		want    string
		wantErr error
	}{
		{"bearer", req("POST", "/", "Authorization", "Bearer abc"), false, "abc", nil},
		{"bearer lower case", req("POST", "/", "Authorization", "bearer  abc "), false, "abc", nil},
		{"basic refused", req("POST", "/", "Authorization", "Basic dXNlcjpwYXNz"), false, "", auth.ErrUnauthenticated},
		{"empty bearer", req("POST", "/", "Authorization", "Bearer "), false, "", auth.ErrUnauthenticated},
		{"two headers", req("POST", "/", "Authorization", "Bearer a", "Authorization", "Bearer b"), false, "", auth.ErrUnauthenticated},
		{"none", req("POST", "/"), false, "", auth.ErrNoCredentials},
		{"subprotocol", req("GET", "/", "Upgrade", "websocket", "Sec-WebSocket-Protocol", "httpmq.v1.json, httpmq.auth.tok.en-_1"), false, "tok.en-_1", nil},
		{"subprotocol, Upgrade in other case", req("GET", "/", "Upgrade", "WebSocket", "Sec-WebSocket-Protocol", "httpmq.auth.t"), false, "t", nil},
		{"subprotocol on extended CONNECT", h2Connect("websocket", "httpmq.auth.t"), false, "t", nil},
		{"subprotocol on plain GET ignored", req("GET", "/v1/admin/stream", "Sec-WebSocket-Protocol", "httpmq.auth.x"), false, "", auth.ErrNoCredentials},
		{"subprotocol on GET upgrading to another protocol ignored", req("GET", "/", "Upgrade", "h2c", "Sec-WebSocket-Protocol", "httpmq.auth.x"), false, "", auth.ErrNoCredentials},
		{"subprotocol on CONNECT for another protocol ignored", h2Connect("connect-udp", "httpmq.auth.x"), false, "", auth.ErrNoCredentials},
		{"subprotocol on POST ignored", req("POST", "/", "Upgrade", "websocket", "Sec-WebSocket-Protocol", "httpmq.auth.x"), false, "", auth.ErrNoCredentials},
		{"query off", req("GET", "/?access_token=q"), false, "", auth.ErrNoCredentials},
		{"query on", req("GET", "/?access_token=q"), true, "q", nil},
		{"query on extended CONNECT", h2Connect("websocket", "", "access_token=q"), true, "q", nil},
		{"query on POST ignored", req("POST", "/?access_token=q"), true, "", auth.ErrNoCredentials},
		{"query on HEAD ignored", req("HEAD", "/?access_token=q"), true, "", auth.ErrNoCredentials},
		{"query on CONNECT for another protocol ignored", h2Connect("connect-udp", "", "access_token=q"), true, "", auth.ErrNoCredentials},
		{"header wins", req("GET", "/?access_token=q", "Authorization", "Bearer h", "Upgrade", "websocket", "Sec-WebSocket-Protocol", "httpmq.auth.s"), true, "h", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.TokenFrom(tc.r, tc.query)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// h2Connect is an HTTP/2 extended CONNECT (RFC 8441) for protocol, with
// subprotocols and a query, as net/http's server presents it.
func h2Connect(protocol, subprotocols string, query ...string) *http.Request {
	r := httptest.NewRequest("CONNECT", "/v1/session", nil)
	r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
	r.Header.Set(":protocol", protocol)
	if subprotocols != "" {
		r.Header.Set("Sec-WebSocket-Protocol", subprotocols)
	}
	if len(query) > 0 {
		r.URL.RawQuery = query[0]
	}
	return r
}

func TestTokensJWTAndAPIKeys(t *testing.T) {
	ctx := context.Background()
	keys, err := auth.NewAPIKeys([]auth.APIKey{{Name: "ci", SHA256: auth.HashAPIKey("hmq_k3y"), Perms: auth.Permissions{Admin: auth.AdminFull}}})
	require.NoError(t, err)
	tk := hsTokens(t)
	tk.Keys = keys

	id, err := tk.AuthenticateToken(ctx, "hmq_k3y")
	require.NoError(t, err)
	assert.Equal(t, auth.Identity{Subject: "ci", Method: auth.MethodAPIKey, Perms: auth.Permissions{Admin: auth.AdminFull}}, id)

	perms := auth.Permissions{Publish: []string{"orders.*"}}
	id, err = tk.AuthenticateToken(ctx, sign(t, testSecret, "alice", time.Minute, perms))
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Subject)
	assert.Equal(t, auth.MethodJWT, id.Method)
	assert.Equal(t, perms, id.Perms)
	assert.WithinDuration(t, time.Now().Add(time.Minute), id.Expires, 2*time.Second)

	for name, tok := range map[string]string{
		"unknown key":   "hmq_nope",
		"bad signature": sign(t, []byte("another-secret-another-secret-0123456789"), "alice", time.Minute, perms),
		"expired":       sign(t, testSecret, "alice", -time.Minute, perms),
		"no sub":        sign(t, testSecret, "", time.Minute, perms),
		"garbage":       "a.b.c",
		"alg none":      noneToken(t),
	} {
		_, err := tk.AuthenticateToken(ctx, tok)
		assert.ErrorIs(t, err, auth.ErrUnauthenticated, name)
		if err != nil {
			assert.NotContains(t, err.Error(), tok, "errors never quote the token")
		}
	}
	_, err = tk.AuthenticateToken(ctx, "")
	assert.ErrorIs(t, err, auth.ErrNoCredentials)
}

func noneToken(t *testing.T) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "mallory",
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return tok
}

// TestJWTPublicKeys: RS256 and ES256 from PEM keys and from a JWKS
// document; an HS256 token forged with the public key as secret fails.
func TestJWTPublicKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pemOf := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	keys, err := auth.ParsePublicKeys(append(pemOf(&rsaKey.PublicKey), pemOf(&ecKey.PublicKey)...))
	require.NoError(t, err)
	require.Len(t, keys, 2)

	claims := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "bob", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
		Issuer: "https://idp.example", Audience: jwt.ClaimStrings{"httpmq"}}}
	signWith := func(m jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	rs := signWith(jwt.SigningMethodRS256, rsaKey, "")
	es := signWith(jwt.SigningMethodES256, ecKey, "")

	j, err := auth.NewJWT(auth.JWTConfig{PublicKeys: keys, Issuer: "https://idp.example", Audience: "httpmq"})
	require.NoError(t, err)
	for _, tok := range []string{rs, es} {
		id, err := j.Verify(context.Background(), tok)
		require.NoError(t, err)
		assert.Equal(t, "bob", id.Subject)
	}
	forged := signWith(jwt.SigningMethodHS256, pemOf(&rsaKey.PublicKey), "")
	_, err = j.Verify(context.Background(), forged)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated, "HS256 is not enabled without a secret")

	wrongIss, err := auth.NewJWT(auth.JWTConfig{PublicKeys: keys, Issuer: "https://other.example"})
	require.NoError(t, err)
	_, err = wrongIss.Verify(context.Background(), rs)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated)

	// JWKS document with both keys.
	set := jwkset.NewMemoryStorage()
	for kid, k := range map[string]any{"r1": &rsaKey.PublicKey, "e1": &ecKey.PublicKey} {
		jwk, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		require.NoError(t, err)
		require.NoError(t, set.KeyWrite(context.Background(), jwk))
	}
	doc, err := set.JSONPublic(context.Background())
	require.NoError(t, err)
	require.True(t, json.Valid(doc))
	kf, err := auth.LoadJWKSFile(doc)
	require.NoError(t, err)
	jw, err := auth.NewJWT(auth.JWTConfig{JWKS: kf})
	require.NoError(t, err)
	for _, tok := range []string{signWith(jwt.SigningMethodRS256, rsaKey, "r1"), signWith(jwt.SigningMethodES256, ecKey, "e1")} {
		id, err := jw.Verify(context.Background(), tok)
		require.NoError(t, err)
		assert.Equal(t, "bob", id.Subject)
	}
	_, err = jw.Verify(context.Background(), signWith(jwt.SigningMethodRS256, rsaKey, "e1"))
	assert.ErrorIs(t, err, auth.ErrUnauthenticated, "kid of another key")

	_, err = auth.NewJWT(auth.JWTConfig{Secret: []byte("short")})
	assert.Error(t, err)
	_, err = auth.NewJWT(auth.JWTConfig{})
	assert.Error(t, err)
}

func TestPolicy(t *testing.T) {
	now := time.Now()
	p := auth.Policy{Now: func() time.Time { return now }}
	who := auth.Identity{Subject: "a", Method: auth.MethodJWT, Perms: auth.Permissions{Admin: auth.AdminReadOnly}, Expires: now.Add(time.Second)}
	require.NoError(t, p.Authorize(context.Background(), who, auth.Action{Kind: auth.AdminRead}))
	require.ErrorIs(t, p.Authorize(context.Background(), who, auth.Action{Kind: auth.AdminWrite}), auth.ErrForbidden)
	who.Expires = now
	require.ErrorIs(t, p.Authorize(context.Background(), who, auth.Action{Kind: auth.AdminRead}), auth.ErrUnauthenticated)
}

func TestAny(t *testing.T) {
	tk := hsTokens(t)
	a := auth.Any{tk, auth.ClientCert{}}
	r := httptest.NewRequest("GET", "/", nil)
	_, err := a.Authenticate(r)
	require.ErrorIs(t, err, auth.ErrNoCredentials, "neither token nor certificate")
	r.Header.Set("Authorization", "Bearer x.y.z")
	_, err = a.Authenticate(r)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.False(t, errors.Is(err, auth.ErrNoCredentials), "a bad token is not 'no credentials'")
}

// TestLimiter: a quota is hit, says when to retry, and recovers then;
// idle identities are forgotten.
func TestLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	var refused []string
	l := auth.NewLimiter(auth.Limits{PublishRate: 2, PublishBytes: 100, BytesBurst: 100, SessionsPerIdentity: 1, IdleAfter: time.Minute, Now: clock,
		Refused: func(what string) { refused = append(refused, what) }})

	require.NoError(t, l.Publish("a", 10))
	require.NoError(t, l.Publish("a", 10))
	err := l.Publish("a", 10)
	var rl *auth.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.ErrorIs(t, err, auth.ErrRateLimited)
	assert.Equal(t, "publish messages", rl.What)
	assert.InDelta(t, 500*time.Millisecond, rl.RetryAfter, float64(time.Millisecond))
	require.NoError(t, l.Publish("b", 10), "another identity has its own quota")

	now = now.Add(rl.RetryAfter)
	require.NoError(t, l.Publish("a", 10), "recovered after retry_after")

	now = now.Add(time.Second)
	require.NoError(t, l.Publish("a", 95))
	now = now.Add(500 * time.Millisecond) // one message token back, 50 bytes
	err = l.Publish("a", 60)
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, "publish bytes", rl.What)
	assert.InDelta(t, 50*time.Millisecond, rl.RetryAfter, float64(time.Millisecond))

	release, err := l.OpenSession("a")
	require.NoError(t, err)
	_, err = l.OpenSession("a")
	require.ErrorIs(t, err, auth.ErrRateLimited)
	release()
	release() // idempotent
	release, err = l.OpenSession("a")
	require.NoError(t, err)
	release()
	assert.Equal(t, []string{"publish messages", "publish bytes", "sessions"}, refused, "every refusal reported")

	require.Equal(t, 2, l.Identities())
	now = now.Add(2 * time.Minute)
	require.NoError(t, l.Publish("c", 1))
	assert.Equal(t, 1, l.Identities(), "idle identities forgotten")
}
