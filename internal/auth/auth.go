// Package auth is the seam where a request's identity is established and
// every action is authorized — once each, for the admin REST API, the
// REST dataplane and WebSocket sessions alike.
//
// Today httpmq ships [Anonymous] identities and [AllowAll]; real
// authentication (tokens, API keys) plugs in as an [Authenticator] and
// real policy as an [Authorizer] without touching any handler.
//
// Start with [Gate]: handlers call [Gate.Check] with an [Action];
// middleware calls [Gate.Identify] once per request or session.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Identity is who is calling.
type Identity struct {
	// Subject names the caller ("anonymous" when unauthenticated).
	Subject string
	// Anonymous is true when no credentials were presented.
	Anonymous bool
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
	Ack        Kind = "ack"         // ack, nak, term, progress on Stream/Consumer
)

// Action is one thing a caller wants to do.
type Action struct {
	Kind     Kind
	Stream   string
	Consumer string
	Subject  string
}

func (a Action) String() string {
	switch a.Kind {
	case Publish:
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

// Gate combines authentication and authorization. The zero value allows
// everything.
type Gate struct {
	Authn Authenticator
	Authz Authorizer
}

type ctxKey struct{}

// Identify authenticates r and returns a context carrying the identity.
func (g *Gate) Identify(r *http.Request) (context.Context, error) {
	var authn Authenticator = AllowAll{}
	if g != nil && g.Authn != nil {
		authn = g.Authn
	}
	id, err := authn.Authenticate(r)
	if err != nil {
		return nil, err
	}
	return context.WithValue(r.Context(), ctxKey{}, id), nil
}

// Check authorizes an action for the identity carried by ctx.
func (g *Gate) Check(ctx context.Context, what Action) error {
	if g == nil || g.Authz == nil {
		return nil
	}
	return g.Authz.Authorize(ctx, IdentityFrom(ctx), what)
}

// IdentityFrom returns the identity [Gate.Identify] stored in ctx, or
// [Anonymous].
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(ctxKey{}).(Identity); ok {
		return id
	}
	return Anonymous
}
