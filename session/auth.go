package session

import (
	"context"
	"fmt"
	"time"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/protocol"
)

// authCtx is the session's context carrying its current identity, for
// the gate's checks.
func (s *session) authCtx() context.Context {
	return auth.WithIdentity(s.ctx, *s.who.Load())
}

// check authorizes one command for the session's current identity.
func (s *session) check(a auth.Action) error {
	return s.h.opts.Gate.Check(s.authCtx(), a)
}

// reauth handles an auth frame: a valid token for the same identity
// replaces the session's credentials (permissions and expiry); anything
// else is refused and the old credentials stay in force.
func (s *session) reauth(f *protocol.Frame) error {
	id, err := s.h.opts.Gate.Reauthenticate(s.ctx, f.Token)
	if err != nil {
		return err
	}
	if old := s.who.Load(); id.Key() != old.Key() {
		return fmt.Errorf("%w: the token is for %q, the session for %q; open a new session to change identity",
			auth.ErrForbidden, id.Subject, old.Subject)
	}
	s.who.Store(&id)
	select {
	case s.renewed <- struct{}{}:
	default: // the writer has a wake-up pending already
	}
	s.log.Debug("credentials refreshed", "expires", id.Expires)
	return nil
}

// armExpiry sets t to fire when the session's credentials expire, or
// stops it for credentials that do not.
func (s *session) armExpiry(t *time.Timer) {
	t.Stop()
	if exp := s.who.Load().Expires; !exp.IsZero() {
		t.Reset(time.Until(exp))
	}
}

// expired ends the session with 4004 if its credentials have expired
// (an auth frame may have renewed them since the timer was set).
func (s *session) expired() {
	if s.who.Load().Expired(time.Now()) {
		s.log.Info("credentials expired, closing session", "identity", s.who.Load().Key())
		s.closeWith(protocol.CloseAuthExpired, "credentials expired; reconnect with fresh ones")
	}
}
