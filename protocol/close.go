package protocol

import "strconv"

// CloseCode is a WebSocket close status code (RFC 6455 section 7.4) as
// this protocol uses it. The server sends String() as the close reason,
// optionally followed by ": " and a short explanation (the whole reason
// at most 123 bytes).
type CloseCode int

// Standard close codes.
const (
	// CloseNormal: the session ended normally (either side hung up).
	CloseNormal CloseCode = 1000
	// CloseGoingAway: the server is shutting down; reconnect, to another
	// instance if there is one.
	CloseGoingAway CloseCode = 1001
	// CloseProtocolError: the stream is unusable: a text message on the
	// msgpack subprotocol, a binary message on the JSON one, or a
	// WebSocket-level protocol violation. A client bug: do not reconnect
	// blindly.
	CloseProtocolError CloseCode = 1002
	// ClosePolicyViolation: the peer broke a rule not covered by another
	// code.
	ClosePolicyViolation CloseCode = 1008
	// CloseMessageTooBig: a message exceeded hello's max_frame.
	CloseMessageTooBig CloseCode = 1009
	// CloseInternalError: the server failed unexpectedly; reconnect with
	// backoff.
	CloseInternalError CloseCode = 1011
)

// Application close codes (the 4000-4999 private range).
const (
	// CloseSlowConsumer: the session's outbound queue stayed full for too
	// long. Unacknowledged messages are redelivered by JetStream after
	// their ack wait; reconnect and consume faster (or lower max_inflight).
	CloseSlowConsumer CloseCode = 4000
	// CloseTooManySessions: the server is at its session limit; reconnect
	// later or elsewhere, with backoff.
	CloseTooManySessions CloseCode = 4001
	// CloseIdleTimeout: the peer stopped answering pings.
	CloseIdleTimeout CloseCode = 4002
	// CloseUnsupportedSubprotocol: no usable subprotocol was negotiated.
	// The server normally refuses such a handshake with HTTP 400 instead;
	// a client must treat both alike and not retry unchanged.
	CloseUnsupportedSubprotocol CloseCode = 4003
	// CloseAuthExpired: the session's credentials expired and no auth
	// frame replaced them in time; reconnect with fresh ones.
	CloseAuthExpired CloseCode = 4004
)

// CloseCodes returns every close code this package defines, in order.
func CloseCodes() []CloseCode {
	return []CloseCode{
		CloseNormal, CloseGoingAway, CloseProtocolError, ClosePolicyViolation,
		CloseMessageTooBig, CloseInternalError, CloseSlowConsumer,
		CloseTooManySessions, CloseIdleTimeout, CloseUnsupportedSubprotocol,
		CloseAuthExpired,
	}
}

// String returns the code's snake_case name, or "close_N" for a code
// this package does not define.
func (c CloseCode) String() string {
	switch c {
	case CloseNormal:
		return "normal"
	case CloseGoingAway:
		return "going_away"
	case CloseProtocolError:
		return "protocol_error"
	case ClosePolicyViolation:
		return "policy_violation"
	case CloseMessageTooBig:
		return "message_too_big"
	case CloseInternalError:
		return "internal_error"
	case CloseSlowConsumer:
		return "slow_consumer"
	case CloseTooManySessions:
		return "too_many_sessions"
	case CloseIdleTimeout:
		return "idle_timeout"
	case CloseUnsupportedSubprotocol:
		return "unsupported_subprotocol"
	case CloseAuthExpired:
		return "auth_expired"
	}
	return "close_" + strconv.Itoa(int(c))
}

// Reconnect reports whether a client should reconnect (with backoff)
// after the server closed with c. It is false for closes caused by the
// client's own bug or configuration, which a retry would repeat.
func (c CloseCode) Reconnect() bool {
	switch c {
	case CloseGoingAway, CloseInternalError, CloseSlowConsumer, CloseTooManySessions,
		CloseIdleTimeout, CloseAuthExpired:
		return true
	}
	return false
}
