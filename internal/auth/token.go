package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Where a request may carry a bearer token.
const (
	// SubprotocolPrefix marks a WebSocket subprotocol that carries a
	// token, for browsers (which cannot set headers on new WebSocket()):
	// new WebSocket(url, ["httpmq.v1.json", "httpmq.auth." + token]).
	// The server never selects (echoes) it.
	SubprotocolPrefix = "httpmq.auth."
	// QueryParam carries a token in the URL (?access_token=...) on GET
	// requests and HTTP/2 WebSocket handshakes, when [Tokens.AllowQuery]
	// is set.
	QueryParam = "access_token"
	// MaxTokenLen bounds a token; longer ones are refused unread.
	MaxTokenLen = 8 << 10
)

// Tokens authenticates bearer tokens: API keys first, then JWTs. It
// implements [TokenAuthenticator].
//
// The token is taken from, in order: the Authorization header
// ("Bearer TOKEN"); on a WebSocket handshake only (GET with Upgrade:
// websocket, or HTTP/2 CONNECT with :protocol websocket), a subprotocol
// [SubprotocolPrefix]+TOKEN; with AllowQuery, the [QueryParam] of a GET
// or of a WebSocket handshake. Nothing else carries credentials (no
// cookies, no other headers). A request with none fails with
// [ErrNoCredentials].
type Tokens struct {
	// Keys are the static API keys; nil for none.
	Keys *APIKeys
	// JWT verifies JSON Web Tokens; nil for none.
	JWT *JWT
	// AllowQuery accepts ?access_token= on GET requests and WebSocket
	// handshakes.
	AllowQuery bool
}

var _ TokenAuthenticator = (*Tokens)(nil)

// Authenticate implements [Authenticator].
func (t *Tokens) Authenticate(r *http.Request) (Identity, error) {
	tok, err := TokenFrom(r, t.AllowQuery)
	if err != nil {
		return Identity{}, err
	}
	return t.AuthenticateToken(r.Context(), tok)
}

// AuthenticateToken implements [TokenAuthenticator].
func (t *Tokens) AuthenticateToken(ctx context.Context, tok string) (Identity, error) {
	switch {
	case tok == "":
		return Identity{}, ErrNoCredentials
	case len(tok) > MaxTokenLen:
		return Identity{}, fmt.Errorf("%w: token longer than %d bytes", ErrUnauthenticated, MaxTokenLen)
	}
	if t.Keys != nil {
		if id, ok := t.Keys.Lookup(tok); ok {
			return id, nil
		}
	}
	if t.JWT != nil && strings.Count(tok, ".") == 2 {
		return t.JWT.Verify(ctx, tok)
	}
	return Identity{}, fmt.Errorf("%w: unknown API key or malformed token", ErrUnauthenticated)
}

// TokenFrom extracts the bearer token of r (see [Tokens] for where it
// looks), or fails with [ErrNoCredentials] when there is none, or
// [ErrUnauthenticated] when the Authorization header is not a bearer
// token. The error never contains the token.
func TokenFrom(r *http.Request, allowQuery bool) (string, error) {
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		if len(h) > 1 {
			return "", fmt.Errorf("%w: more than one Authorization header", ErrUnauthenticated)
		}
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h[0]), " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", fmt.Errorf("%w: the Authorization header must be \"Bearer TOKEN\"", ErrUnauthenticated)
		}
		return tok, nil
	}
	handshake := webSocketHandshake(r)
	if handshake {
		for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
			for p := range strings.SplitSeq(v, ",") {
				if tok, ok := strings.CutPrefix(strings.TrimSpace(p), SubprotocolPrefix); ok && tok != "" {
					return tok, nil
				}
			}
		}
	}
	if allowQuery && (handshake || r.Method == http.MethodGet) {
		if tok := r.URL.Query().Get(QueryParam); tok != "" {
			return tok, nil
		}
	}
	return "", ErrNoCredentials
}

// webSocketHandshake reports whether r opens a WebSocket: an HTTP/1.1
// GET asking to upgrade to websocket, or an HTTP/2 extended CONNECT
// (RFC 8441) for websocket.
func webSocketHandshake(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet:
		for _, v := range r.Header.Values("Upgrade") {
			for p := range strings.SplitSeq(v, ",") {
				if strings.EqualFold(strings.TrimSpace(p), "websocket") {
					return true
				}
			}
		}
	case http.MethodConnect:
		return r.ProtoMajor == 2 && r.Header.Get(":protocol") == "websocket"
	}
	return false
}

// Any tries each authenticator in turn, moving to the next only when one
// finds no credentials ([ErrNoCredentials]); bad credentials fail at
// once. It implements [TokenAuthenticator] when one of them does.
type Any []Authenticator

var _ TokenAuthenticator = Any(nil)

// Authenticate implements [Authenticator].
func (a Any) Authenticate(r *http.Request) (Identity, error) {
	for _, x := range a {
		id, err := x.Authenticate(r)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		return id, err
	}
	return Identity{}, ErrNoCredentials
}

// AuthenticateToken implements [TokenAuthenticator] with the first
// authenticator that verifies bare tokens.
func (a Any) AuthenticateToken(ctx context.Context, tok string) (Identity, error) {
	for _, x := range a {
		if ta, ok := x.(TokenAuthenticator); ok {
			return ta.AuthenticateToken(ctx, tok)
		}
	}
	return Identity{}, fmt.Errorf("%w: this server does not accept tokens", ErrUnauthenticated)
}

// ClientCert authenticates a request by its verified TLS client
// certificate (the listener verifies it against its client CAs); the
// identity's subject is the certificate's common name and its
// permissions Perms. Without one it answers [ErrNoCredentials].
type ClientCert struct {
	Perms Permissions
}

// Authenticate implements [Authenticator].
func (c ClientCert) Authenticate(r *http.Request) (Identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return Identity{}, ErrNoCredentials
	}
	cert := r.TLS.VerifiedChains[0][0]
	return Identity{Subject: cert.Subject.CommonName, Method: MethodClientCert, Perms: c.Perms, Expires: cert.NotAfter}, nil
}
