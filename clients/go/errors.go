package httpmq

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// Sentinel errors, to test with errors.Is.
var (
	// ErrClosed: the session (or the subscription's session) was closed
	// by [Session.Close], or ended for good (see [Session.Err]).
	ErrClosed = errors.New("httpmq: session closed")
	// ErrConnectionLost: the connection dropped after the command was
	// sent and before its reply came. The outcome is unknown: a publish
	// may have been stored, an ack may have been recorded. Retry with the
	// same message id to be safe (or set [SessionOptions.RetryPublishes]).
	ErrConnectionLost = errors.New("httpmq: connection lost before the reply")
	// ErrUnsubscribed: the subscription was ended by Unsubscribe or Close.
	ErrUnsubscribed = errors.New("httpmq: unsubscribed")
	// ErrInvalidOption: an option or argument is out of range.
	ErrInvalidOption = errors.New("httpmq: invalid option")
)

// APIError is a failure reported by the server: the error body of a REST
// answer, an error frame replying to a session command, or the reason a
// subscription ended. Switch on Code (protocol.Code*), never on Message.
//
//	var apiErr *httpmq.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == protocol.CodeStreamNotFound { … }
//
// errors.Is(err, &protocol.Error{Code: c}) and errors.Is(err,
// &APIError{Code: c}) also test for a code.
//
// On the wire the error object is {"code":404,"reason":"stream_not_found",
// "message":…}: Status is the wire's "code" and Code its "reason".
type APIError struct {
	// Status is the HTTP status of the error: a REST answer's status, or
	// the status a session error or closed frame, or a subscription
	// stream's final line, carries (what the same error answers over
	// REST). 0 only when the server's answer said none.
	Status int
	// Code is the stable machine-readable reason; empty when the server's
	// answer was not JSON (a proxy's error page, say).
	Code protocol.Code
	// Message is human-readable and may change between releases.
	Message string
	// Detail is optional extra context.
	Detail string
	// Retryable reports whether repeating the request later may succeed.
	Retryable bool
	// RetryAfter is how long the server asks to wait before retrying
	// (rate_limited); 0 when it did not say.
	RetryAfter time.Duration
	// RequestID identifies a REST request in the server's logs.
	RequestID string
}

// apiError builds the *APIError for a wire error e (which may be nil)
// with the given HTTP status, or e's own status when status is 0.
func apiError(status int, requestID string, e *protocol.Error) *APIError {
	a := &APIError{Status: status, RequestID: requestID}
	if e != nil {
		if a.Status == 0 {
			a.Status = e.Status
		}
		a.Code, a.Message, a.Detail, a.Retryable, a.RetryAfter = e.Code, e.Message, e.Detail, e.Retryable, e.RetryAfter
	}
	return a
}

func (e *APIError) Error() string {
	s := "httpmq: "
	if e.Code != "" {
		s += string(e.Code)
	} else {
		s += fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// Is matches a *protocol.Error or *APIError target with the same Code.
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case *protocol.Error:
		return t.Code == e.Code
	case *APIError:
		return t.Code == e.Code
	}
	return false
}

// frameError turns an error or closed frame into an *APIError.
func frameError(f *protocol.Frame) *APIError {
	return apiError(0, "", f.Err())
}

// CloseError is why the server closed a session for good: a WebSocket
// close code that calls for no reconnect (see [protocol.CloseCode.Reconnect]),
// for example 1009 message_too_big or 1002 protocol_error; or 4004
// auth_expired when the session has no [SessionOptions.Token] to get
// fresh credentials from.
type CloseError struct {
	Code   protocol.CloseCode
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("httpmq: session closed by the server: %d %s", int(e.Code), e.Reason)
}
