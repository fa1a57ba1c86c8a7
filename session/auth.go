package session

import (
	"fmt"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/protocol"
)

// reauth handles an auth frame: a valid token for the same identity
// replaces the client's credentials (permissions and expiry); anything
// else is refused and the old credentials stay in force.
func (c *Client) reauth(f *protocol.Frame) error {
	id, err := c.h.opts.Gate.Reauthenticate(c.ctx, f.Token)
	if err != nil {
		return err
	}
	if old := c.who.Load(); id.Key() != old.Key() {
		return fmt.Errorf("%w: the token is for %q, the session for %q; open a new session to change identity",
			auth.ErrForbidden, id.Subject, old.Subject)
	}
	c.who.Store(&id)
	c.armExpiry()
	c.logger().Debug("credentials refreshed", "expires", id.Expires)
	return nil
}
