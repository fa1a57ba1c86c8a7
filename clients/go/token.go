package httpmq

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// TokenFunc supplies a bearer token (a JWT or an API key) when one is
// needed: [SessionOptions.Token] and [ClientOptions.Token]. It should
// return quickly, a cached token while it is fresh; ctx bounds the call.
type TokenFunc func(ctx context.Context) (string, error)

// ErrToken wraps a [TokenFunc]'s failure (errors.Is also finds the
// function's own error).
var ErrToken = errors.New("httpmq: token provider failed")

// refreshShare is the part of a token's lifetime after which a session
// sends a fresh one: 80%, so a 5-minute token is replaced after 4
// minutes.
const refreshShare = 0.8

// minRefreshWait keeps a provider that returns nearly expired tokens
// from being called in a tight loop.
const minRefreshWait = 100 * time.Millisecond

// token calls f, wrapping its error in ErrToken. An empty token is an
// error too: it would only earn a 401.
func token(ctx context.Context, f TokenFunc) (string, error) {
	tok, err := f(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	if tok == "" {
		return "", fmt.Errorf("%w: empty token", ErrToken)
	}
	return tok, nil
}

// tokenExpiry returns the exp claim of a JWT, read without checking the
// signature (the server does that); the zero time for anything else (an
// API key, a JWT without exp).
func tokenExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp *float64 `json:"exp"` // a NumericDate: a number, never a string
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == nil {
		return time.Time{}
	}
	exp := *claims.Exp
	if exp <= 0 || exp >= 1<<33 {
		return time.Time{}
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*float64(time.Second)))
}

// refreshAt is when a token obtained at got and expiring at exp is
// replaced.
func refreshAt(got, exp time.Time) time.Time {
	at := got.Add(time.Duration(float64(exp.Sub(got)) * refreshShare))
	if earliest := time.Now().Add(minRefreshWait); at.Before(earliest) {
		return earliest
	}
	return at
}

// refresher sends c a fresh token in an auth frame once 80% of the
// current one's lifetime has passed, and again for each new token. A
// refresh that fails (the provider fails, or the server refuses the
// token) is reported as EventTokenError and not retried on c: the server
// closes c at the old token's exp with 4004 auth_expired, and the session
// reconnects with a token from a new call of the provider.
func (s *Session) refresher(c *conn) {
	got, exp := c.tokenAt, c.tokenExp
	for !exp.IsZero() {
		t := time.NewTimer(time.Until(refreshAt(got, exp)))
		select {
		case <-c.down:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithDeadline(s.ctx, exp)
		tok, err := token(ctx, s.opts.Token)
		now := time.Now()
		if err == nil {
			err = s.auth(ctx, c, tok)
		}
		cancel()
		select {
		case <-c.down:
			return // the connection went meanwhile: the next one has its own token
		default:
		}
		if err != nil {
			s.event(Event{Kind: EventTokenError, URL: c.url, Err: err})
			return
		}
		got, exp = now, tokenExpiry(tok)
		s.event(Event{Kind: EventTokenRefreshed, URL: c.url})
	}
}

// auth sends an auth frame with tok on c and waits for its ok.
func (s *Session) auth(ctx context.Context, c *conn, tok string) error {
	cl := s.newCall(nil)
	if !s.register(cl, c) {
		return ErrConnectionLost
	}
	return s.await(ctx, cl, &protocol.Frame{Type: protocol.TypeAuth, Token: tok})
}
