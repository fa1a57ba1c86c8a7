package protocol

import (
	"encoding/json"
	"errors"
	"time"
)

// Code is a stable, machine-readable error reason. The same values appear
// as "reason" in session error and closed frames and in REST error bodies
// (where "code" is the HTTP status, an integer: see [Error]); clients
// switch on them, never on messages.
type Code string

// Request errors: the request is wrong and repeating it will not help.
const (
	CodeBadRequest       Code = "bad_request"        // a required field is missing or a value is out of range
	CodeMalformedFrame   Code = "malformed_frame"    // the frame could not be decoded
	CodeUnknownFrameType Code = "unknown_frame_type" // "type" is not a frame a client may send
	CodeInvalidName      Code = "invalid_name"       // a stream or consumer name breaks JetStream's rules
	CodeInvalidSubject   Code = "invalid_subject"    // a subject or filter is not a valid NATS subject here
	CodeInvalidConfig    Code = "invalid_config"     // a stream or consumer configuration was refused
	CodePayloadTooLarge  Code = "payload_too_large"  // the message is larger than NATS accepts
	CodeBodyTooLarge     Code = "body_too_large"     // the HTTP request body is larger than the server accepts
	CodeMethodNotAllowed Code = "method_not_allowed" // the route exists but not for this HTTP method
	CodeReservedSubject  Code = "reserved_subject"   // the subject belongs to NATS, JetStream or httpmq ($…, _INBOX., _httpmq. …); 403 when authorization refuses it
	CodeReservedHeader   Code = "reserved_header"    // a Nats-… message header JetStream reads as a command; 403 when authorization refuses it

	CodeFilterNotInStream Code = "filter_not_in_stream" // a consumer's filter matches no subject of its stream
)

// Missing things.
const (
	CodeNotFound             Code = "not_found"              // no such route
	CodeStreamNotFound       Code = "stream_not_found"       // the stream does not exist
	CodeConsumerNotFound     Code = "consumer_not_found"     // the consumer does not exist on that stream
	CodeMessageNotFound      Code = "message_not_found"      // no message at that sequence
	CodeNoStreamForSubject   Code = "no_stream_for_subject"  // publish to a subject no stream captures
	CodeSubscriptionNotFound Code = "subscription_not_found" // no subscription with that "sub" on this session
)

// Conflicts with the current state.
const (
	CodeStreamExists         Code = "stream_exists"          // a stream of that name exists with another configuration
	CodeConsumerExists       Code = "consumer_exists"        // a consumer of that name exists with another configuration
	CodeConsumerBusy         Code = "consumer_busy"          // a push consumer without delivery group already has a subscriber
	CodeWrongConsumerMode    Code = "wrong_consumer_mode"    // push operation on a pull consumer or the reverse
	CodeDeliverGroupMismatch Code = "deliver_group_mismatch" // "group" differs from the consumer's delivery group
	CodeFilterMismatch       Code = "filter_mismatch"        // "filter" is not covered by the consumer's filter subject
	CodeAckNotPending        Code = "ack_not_pending"        // the message is not awaiting acknowledgement (already acked, or never delivered)
	CodeSubscriptionExists   Code = "subscription_exists"    // this session already has a subscription with that "sub"
	CodeTooManySubscriptions Code = "too_many_subscriptions" // the session reached its subscription limit
	CodePublishRefused       Code = "publish_refused"        // the stream refuses this message (sealed, no roll-ups allowed, ...)
	CodePreconditionFailed   Code = "precondition_failed"    // a publish's Nats-Expected-… condition does not hold (wrong last sequence, other stream)
)

// Access and load.
const (
	CodeUnauthorized    Code = "unauthorized"      // missing or invalid credentials
	CodeForbidden       Code = "forbidden"         // credentials valid but not allowed to do this
	CodeRateLimited     Code = "rate_limited"      // too many requests; slow down and retry
	CodeTooManySessions Code = "too_many_sessions" // the server reached its session limit; retry later or elsewhere
	CodeUnavailable     Code = "unavailable"       // NATS JetStream is unreachable; retry later
	CodeTimeout         Code = "timeout"           // JetStream did not answer in time; the outcome is unknown
	CodeRequestTimeout  Code = "request_timeout"   // the request body did not arrive within the server's body read timeout; nothing was done
	CodeShuttingDown    Code = "shutting_down"     // the server is stopping; retry on another instance
	CodeReplayOverrun   Code = "replay_overrun"    // live messages outran a recovering subscription's replay; subscribe again from the last sequence received
	CodeInternal        Code = "internal"          // a bug or unexpected failure on the server
)

// Codes returns every code this package defines, in documentation order.
func Codes() []Code {
	return []Code{
		CodeBadRequest, CodeMalformedFrame, CodeUnknownFrameType, CodeInvalidName,
		CodeInvalidSubject, CodeInvalidConfig, CodePayloadTooLarge, CodeBodyTooLarge,
		CodeMethodNotAllowed, CodeReservedSubject, CodeReservedHeader,
		CodeFilterNotInStream,
		CodeNotFound, CodeStreamNotFound, CodeConsumerNotFound, CodeMessageNotFound,
		CodeNoStreamForSubject, CodeSubscriptionNotFound,
		CodeStreamExists, CodeConsumerExists, CodeConsumerBusy, CodeWrongConsumerMode,
		CodeDeliverGroupMismatch, CodeFilterMismatch, CodeAckNotPending,
		CodeSubscriptionExists, CodeTooManySubscriptions, CodePublishRefused, CodePreconditionFailed,
		CodeUnauthorized, CodeForbidden, CodeRateLimited, CodeTooManySessions,
		CodeUnavailable, CodeTimeout, CodeRequestTimeout, CodeShuttingDown, CodeReplayOverrun, CodeInternal,
	}
}

// HTTPStatus is the status a REST handler answers with for c. Unknown
// codes map to 500. (Numbers, not net/http constants: this package
// imports nothing that does I/O.)
func (c Code) HTTPStatus() int {
	switch c {
	case CodeBadRequest, CodeMalformedFrame, CodeUnknownFrameType, CodeInvalidName,
		CodeInvalidSubject, CodeInvalidConfig, CodeReservedSubject, CodeReservedHeader,
		CodeFilterNotInStream:
		return 400 // BadRequest
	case CodeUnauthorized:
		return 401 // Unauthorized
	case CodeForbidden:
		return 403 // Forbidden
	case CodeNotFound, CodeStreamNotFound, CodeConsumerNotFound, CodeMessageNotFound,
		CodeNoStreamForSubject, CodeSubscriptionNotFound:
		return 404 // NotFound
	case CodeMethodNotAllowed:
		return 405 // MethodNotAllowed
	case CodeStreamExists, CodeConsumerExists, CodeConsumerBusy, CodeWrongConsumerMode,
		CodeDeliverGroupMismatch, CodeFilterMismatch, CodeAckNotPending,
		CodeSubscriptionExists, CodeTooManySubscriptions, CodePublishRefused:
		return 409 // Conflict
	case CodeRequestTimeout:
		return 408 // RequestTimeout
	case CodePreconditionFailed:
		return 412 // PreconditionFailed
	case CodePayloadTooLarge, CodeBodyTooLarge:
		return 413 // RequestEntityTooLarge
	case CodeRateLimited:
		return 429 // TooManyRequests
	case CodeUnavailable, CodeShuttingDown, CodeTooManySessions, CodeReplayOverrun:
		return 503 // ServiceUnavailable
	case CodeTimeout:
		return 504 // GatewayTimeout
	}
	return 500 // InternalServerError
}

// Retryable reports whether repeating the same request later may succeed
// without the client changing anything. It is the default for
// [Error.Retryable].
func (c Code) Retryable() bool {
	switch c {
	case CodeUnavailable, CodeTimeout, CodeShuttingDown, CodeRateLimited,
		CodeTooManySessions, CodeConsumerBusy, CodeRequestTimeout, CodeReplayOverrun:
		return true
	}
	return false
}

// Error is an error as clients see it: the HTTP status, a stable reason
// code, a human message, optional detail, and whether retrying may help.
// It implements error, so handlers can return it; [ErrorOf] maps any error
// onto one. The JSON encoding is the REST error body and the error object
// of a subscription stream's final line:
//
//	{"code":404,"reason":"stream_not_found","message":"stream not found","detail":"…"}
//
// Mind the names: on the wire "code" is the HTTP status as an integer (as
// the original httpmq sent it, and as its clients decode it) and "reason"
// is the stable string clients switch on, which Go calls Code, of type
// [Code], everywhere in this module.
type Error struct {
	// Status is the HTTP status, "code" on the wire. Zero stands for
	// Code's own status (see [Error.HTTPStatus]); [NewError] sets it. It
	// may differ from Code's: a reserved_subject refused by authorization
	// is a 403, the same refused by validation on a server without
	// authentication a 400.
	Status int `json:"code"`
	// Code is the stable machine-readable reason, "reason" on the wire.
	Code    Code   `json:"reason"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
	// Retryable reports whether repeating the request later may succeed;
	// encoded only when true.
	Retryable bool `json:"retryable,omitempty"`
	// RetryAfter is how long to wait before retrying, when the server
	// knows (rate_limited); in nanoseconds on the wire.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
}

// NewError returns an Error with c's HTTP status and default retryability.
func NewError(c Code, message string) *Error {
	return &Error{Status: c.HTTPStatus(), Code: c, Message: message, Retryable: c.Retryable()}
}

// HTTPStatus returns Status, or Code's status when Status is zero.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.HTTPStatus()
}

// MarshalJSON encodes e with "code" always set: Status, or Code's status.
func (e Error) MarshalJSON() ([]byte, error) {
	type wire Error // without this method
	w := wire(e)
	w.Status = e.HTTPStatus()
	return json.Marshal(w)
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is reports whether target is an *Error with the same Code (reason), so
// errors.Is(err, &Error{Code: CodeStreamNotFound}) tests for a reason;
// Status plays no part.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// AsError finds the first *Error in err's chain (see errors.As); a
// [*DecodeError] also yields one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ErrorOf maps err onto a wire error: the *Error in its chain if there is
// one, otherwise a [CodeInternal] error whose message reveals nothing of
// err. It returns nil for a nil err.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := AsError(err); ok {
		return e
	}
	return NewError(CodeInternal, "internal error")
}

// ErrorFrame builds the error frame replying to command id (empty for an
// error tied to no command) for err, mapped through [ErrorOf].
func ErrorFrame(id string, err error) *Frame {
	f := errorFields(err)
	f.Type, f.ID = TypeError, id
	return f
}

// ClosedFrame builds the closed frame telling that the server ended
// subscription sub, and why (err mapped through [ErrorOf]).
func ClosedFrame(sub string, err error) *Frame {
	f := errorFields(err)
	f.Type, f.Sub = TypeClosed, sub
	return f
}

func errorFields(err error) *Frame {
	e := ErrorOf(err)
	return &Frame{Status: e.HTTPStatus(), Reason: string(e.Code), Message: e.Message, Detail: e.Detail, Retryable: e.Retryable, RetryAfter: e.RetryAfter}
}

// Err returns the *Error an error or closed frame carries, or nil for
// other frames.
func (f *Frame) Err() *Error {
	if f.Type != TypeError && f.Type != TypeClosed {
		return nil
	}
	if f.Reason == "" {
		return nil
	}
	return &Error{Status: f.Status, Code: Code(f.Reason), Message: f.Message, Detail: f.Detail, Retryable: f.Retryable, RetryAfter: f.RetryAfter}
}
