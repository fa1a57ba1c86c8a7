package httpx

import (
	"context"
	"errors"
	"net/http"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/protocol"
)

// sentinels maps the conditions of bridge and auth onto wire codes, in
// the order they are tested.
var sentinels = []struct {
	err  error
	code protocol.Code
}{
	{auth.ErrUnauthenticated, protocol.CodeUnauthorized},
	// Before forbidden: authorization refuses reserved subjects and
	// headers with these, and their reason is the more precise.
	{bridge.ErrReservedSubject, protocol.CodeReservedSubject},
	{bridge.ErrReservedHeader, protocol.CodeReservedHeader},
	{auth.ErrForbidden, protocol.CodeForbidden},
	{auth.ErrRateLimited, protocol.CodeRateLimited},
	{bridge.ErrStreamNotFound, protocol.CodeStreamNotFound},
	{bridge.ErrConsumerNotFound, protocol.CodeConsumerNotFound},
	{bridge.ErrMessageNotFound, protocol.CodeMessageNotFound},
	{bridge.ErrNoStreamForSubject, protocol.CodeNoStreamForSubject},
	{bridge.ErrStreamExists, protocol.CodeStreamExists},
	{bridge.ErrConsumerExists, protocol.CodeConsumerExists},
	{bridge.ErrInvalidName, protocol.CodeInvalidName},
	{bridge.ErrInvalidSubject, protocol.CodeInvalidSubject},
	{bridge.ErrInvalidConfig, protocol.CodeInvalidConfig},
	{bridge.ErrPayloadTooLarge, protocol.CodePayloadTooLarge},
	{bridge.ErrInvalidHeader, protocol.CodeBadRequest},
	{bridge.ErrPreconditionFailed, protocol.CodePreconditionFailed},
	{bridge.ErrPublishRefused, protocol.CodePublishRefused},
	{bridge.ErrNotPending, protocol.CodeAckNotPending},
	{bridge.ErrConsumerBusy, protocol.CodeConsumerBusy},
	{bridge.ErrDeliverGroupMismatch, protocol.CodeDeliverGroupMismatch},
	{bridge.ErrFilterMismatch, protocol.CodeFilterMismatch},
	{bridge.ErrFilterNotInStream, protocol.CodeFilterNotInStream},
	{bridge.ErrUnavailable, protocol.CodeUnavailable},
	{bridge.ErrReplayOverrun, protocol.CodeReplayOverrun},
	{bridge.ErrSubscriptionClosed, protocol.CodeUnavailable},
}

// Classify maps any error onto the error clients see. It is the one place
// where Go errors become wire errors, for REST answers and WebSocket error
// frames alike:
//
//   - a [*protocol.Error] anywhere in err's chain is returned as is;
//   - the sentinels of bridge and auth become their codes (not found →
//     404 codes, exists → 409, invalid → 400, unavailable → 503 and
//     retryable, unauthenticated → 401, forbidden → 403, rate limited →
//     429 with the [auth.RateLimitError]'s retry_after ...), with the
//     sentinel's text as message and err's full text as detail; a refusal
//     of the authorizer ([auth.ErrForbidden]) is a 403 whatever its code
//     (reserved_subject is 400 from validation, 403 from authorization);
//   - an [*http.MaxBytesError] becomes body_too_large, an expired context
//     timeout, a cancelled one unavailable;
//   - anything else becomes internal with a generic message: the caller
//     logs err, the client never sees it.
//
// The HTTP status is [protocol.Error.HTTPStatus]. Classify
// returns nil for a nil err.
func Classify(err error) *protocol.Error {
	if err == nil {
		return nil
	}
	if e, ok := protocol.AsError(err); ok {
		return e
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			e := protocol.NewError(s.code, s.err.Error())
			if d := err.Error(); d != e.Message {
				e.Detail = d
			}
			var rl *auth.RateLimitError
			if errors.As(err, &rl) {
				e.RetryAfter = rl.RetryAfter
			}
			if errors.Is(err, auth.ErrForbidden) {
				e.Status = http.StatusForbidden
			}
			return e
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return BodyTooLarge(tooBig.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.NewError(protocol.CodeTimeout, "the request took too long; its outcome is unknown")
	case errors.Is(err, context.Canceled):
		return protocol.NewError(protocol.CodeUnavailable, "the request was cancelled")
	}
	return protocol.NewError(protocol.CodeInternal, "internal error")
}

// NewError returns a wire error with code c, message and detail (which
// may be empty), for handlers that detect a problem themselves.
func NewError(c protocol.Code, message, detail string) *protocol.Error {
	e := protocol.NewError(c, message)
	e.Detail = detail
	return e
}
