// Package auth is the seam where a request's identity is established and
// every action is authorized — once each, for the admin REST API, the
// REST dataplane and WebSocket sessions alike.
//
// Start with [Gate]: middleware calls [Gate.Identify] once per request or
// session; handlers call [Gate.Check] with an [Action] before doing
// anything, and [Gate.Limit] / [Gate.OpenSession] for rate limits.
//
// Without configuration a Gate lets everyone in as [Anonymous]
// ([AllowAll]). With it, [Tokens] authenticates bearer tokens (JWTs by
// [JWT], static API keys by [APIKeys]), [ClientCert] verified TLS client
// certificates, [Policy] authorizes from the identity's [Permissions],
// and a [Limiter] enforces per-identity quotas. docs/security.md is the
// user's guide.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Identity is who is calling.
type Identity struct {
	// Subject names the caller ("anonymous" when unauthenticated): a
	// JWT's sub, an API key's name, a client certificate's common name.
	Subject string
	// Anonymous is true when no credentials were presented.
	Anonymous bool
	// Method is how the identity was established: [MethodJWT],
	// [MethodAPIKey], [MethodClientCert], or "" for anonymous.
	Method string
	// Perms is what the identity may do ([Policy] reads it).
	Perms Permissions
	// Expires is when the credentials stop being valid; zero for never.
	Expires time.Time
}

// How an identity was established ([Identity.Method]).
const (
	MethodJWT        = "jwt"
	MethodAPIKey     = "api-key"
	MethodClientCert = "client-cert"
)

// Key names the identity for per-identity quotas: method and subject, so
// an API key and a JWT subject of the same name do not share a quota.
func (id Identity) Key() string {
	if id.Anonymous {
		return "anonymous"
	}
	return id.Method + ":" + id.Subject
}

// Expired reports whether the identity's credentials have expired at now.
func (id Identity) Expired(now time.Time) bool {
	return !id.Expires.IsZero() && !now.Before(id.Expires)
}

// Anonymous is the identity of a caller without credentials.
var Anonymous = Identity{Subject: "anonymous", Anonymous: true}

// Kind says what an action does.
type Kind string

// The kinds of action httpmq authorizes.
const (
	AdminRead  Kind = "admin.read"  // inspect streams, consumers, messages
	AdminWrite Kind = "admin.write" // define, change, delete, purge
	Publish    Kind = "publish"     // publish to Subject
	Subscribe  Kind = "subscribe"   // read Stream/Consumer
	Listen     Kind = "listen"      // receive Subject's messages live, without a consumer
	Ack        Kind = "ack"         // ack, nak, term, progress on Stream/Consumer
)

// Action is one thing a caller wants to do.
type Action struct {
	Kind     Kind
	Stream   string
	Consumer string
	// Subject is published to (Publish), or captured by the stream an
	// AdminWrite defines or changes (one action per subject).
	Subject string
	// Header holds the message headers of a Publish; their names matter
	// (Nats-* ones are JetStream commands, see [Permissions]).
	Header map[string][]string
}

func (a Action) String() string {
	switch a.Kind {
	case Publish, Listen:
		return fmt.Sprintf("%s %s", a.Kind, a.Subject)
	case Subscribe, Ack:
		return fmt.Sprintf("%s %s/%s", a.Kind, a.Stream, a.Consumer)
	}
	return string(a.Kind)
}

// Errors an [Authenticator] or [Authorizer] returns (wrapped).
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	// ErrNoCredentials (which is also ErrUnauthenticated) means the
	// request carried no credentials an authenticator understands, so
	// another may try ([Any]).
	ErrNoCredentials = fmt.Errorf("%w: no credentials", ErrUnauthenticated)
	// ErrRateLimited is what a [*RateLimitError] wraps.
	ErrRateLimited = errors.New("rate limited")
)

// Authenticator establishes an identity from a request (headers, TLS
// state, query). It returns [ErrUnauthenticated] for bad credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// Authorizer decides whether an identity may perform an action. It
// returns [ErrForbidden] (wrapped) when not.
type Authorizer interface {
	Authorize(ctx context.Context, who Identity, what Action) error
}

// AllowAll authenticates everyone as [Anonymous] and permits everything.
type AllowAll struct{}

// Authenticate implements [Authenticator].
func (AllowAll) Authenticate(*http.Request) (Identity, error) { return Anonymous, nil }

// Authorize implements [Authorizer].
func (AllowAll) Authorize(context.Context, Identity, Action) error { return nil }

var (
	_ Authenticator = AllowAll{}
	_ Authorizer    = AllowAll{}
)

// TokenAuthenticator is an [Authenticator] that can also verify a bare
// token, as a session's auth frame carries ([Gate.Reauthenticate]).
type TokenAuthenticator interface {
	Authenticator
	AuthenticateToken(ctx context.Context, token string) (Identity, error)
}

// Gate combines authentication, authorization and quotas. The zero value
// allows everything without limits. Its fields must not change once it
// is in use; its methods may be called concurrently.
type Gate struct {
	Authn Authenticator
	Authz Authorizer
	// Limits enforces per-identity quotas; nil means none.
	Limits *Limiter
}

type ctxKey struct{}

// Identify authenticates r and returns a context carrying the identity.
func (g *Gate) Identify(r *http.Request) (context.Context, error) {
	id, err := g.Who(r)
	if err != nil {
		return nil, err
	}
	return WithSharedIdentity(r.Context(), id), nil
}

// anonymous is what [Gate.Who] shares when nothing authenticates: it is
// never changed.
var anonymous = Anonymous

// Who authenticates r and returns its identity, which the caller must
// not change (a gate without an authenticator shares one [Anonymous]).
func (g *Gate) Who(r *http.Request) (*Identity, error) {
	if g == nil || g.Authn == nil {
		return &anonymous, nil
	}
	id, err := g.Authn.Authenticate(r)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// Check authorizes an action for the identity carried by ctx.
func (g *Gate) Check(ctx context.Context, what Action) error {
	if g == nil || g.Authz == nil {
		return nil
	}
	return g.Authz.Authorize(ctx, IdentityFrom(ctx), what)
}

// Limit charges a publish of size bytes to the identity carried by ctx,
// returning a [*RateLimitError] when over its quota. Other kinds of
// action are not limited.
func (g *Gate) Limit(ctx context.Context, what Action, size int) error {
	if g == nil || g.Limits == nil || what.Kind != Publish {
		return nil
	}
	return g.Limits.Publish(IdentityFrom(ctx).Key(), size)
}

// OpenSession counts a session of the identity carried by ctx against
// its quota. The caller must call release when the session ends. Over
// the quota it returns a [*RateLimitError].
func (g *Gate) OpenSession(ctx context.Context) (release func(), err error) {
	if g == nil || g.Limits == nil {
		return func() {}, nil
	}
	return g.Limits.OpenSession(IdentityFrom(ctx).Key())
}

// Reauthenticate verifies token (a session's refreshed credentials) and
// returns the identity it stands for. A gate without a
// [TokenAuthenticator] answers [ErrUnauthenticated].
func (g *Gate) Reauthenticate(ctx context.Context, token string) (Identity, error) {
	if g == nil || g.Authn == nil {
		return Anonymous, nil
	}
	ta, ok := g.Authn.(TokenAuthenticator)
	if !ok {
		return Identity{}, fmt.Errorf("%w: this server does not accept tokens", ErrUnauthenticated)
	}
	return ta.AuthenticateToken(ctx, token)
}

// WithIdentity returns a context carrying id, as [Gate.Identify] does.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return WithSharedIdentity(ctx, &id)
}

// WithSharedIdentity returns a context carrying *id without copying it:
// *id must not change afterwards. A long-lived holder of an identity (a
// session) makes its contexts so, sparing a copy per context.
func WithSharedIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RateLimitError says a quota is exhausted and when to retry. It wraps
// [ErrRateLimited].
type RateLimitError struct {
	// What was limited: "publish messages", "publish bytes", "sessions".
	What string
	// RetryAfter is when the same request may succeed.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited: too many %s; retry after %s", e.What, e.RetryAfter.Round(time.Millisecond))
}

// Unwrap returns [ErrRateLimited].
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// SharedIdentityFrom returns the identity [Gate.Identify] stored in ctx
// (or [Anonymous]) without copying it; *id must not be changed.
func SharedIdentityFrom(ctx context.Context) *Identity {
	if id, ok := ctx.Value(ctxKey{}).(*Identity); ok && id != nil {
		return id
	}
	anon := Anonymous
	return &anon
}

// IdentityFrom returns the identity [Gate.Identify] stored in ctx, or
// [Anonymous].
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(ctxKey{}).(*Identity); ok && id != nil {
		return *id
	}
	return Anonymous
}
