package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("%w: details from JetStream", err) }
	tests := []struct {
		name      string
		err       error
		code      protocol.Code
		status    int
		retryable bool
	}{
		{"stream not found", wrap(bridge.ErrStreamNotFound), protocol.CodeStreamNotFound, 404, false},
		{"consumer not found", wrap(bridge.ErrConsumerNotFound), protocol.CodeConsumerNotFound, 404, false},
		{"message not found", wrap(bridge.ErrMessageNotFound), protocol.CodeMessageNotFound, 404, false},
		{"no stream for subject", wrap(bridge.ErrNoStreamForSubject), protocol.CodeNoStreamForSubject, 404, false},
		{"stream exists", wrap(bridge.ErrStreamExists), protocol.CodeStreamExists, 409, false},
		{"consumer exists", wrap(bridge.ErrConsumerExists), protocol.CodeConsumerExists, 409, false},
		{"invalid name", wrap(bridge.ErrInvalidName), protocol.CodeInvalidName, 400, false},
		{"invalid subject", wrap(bridge.ErrInvalidSubject), protocol.CodeInvalidSubject, 400, false},
		{"invalid config", wrap(bridge.ErrInvalidConfig), protocol.CodeInvalidConfig, 400, false},
		{"payload too large", wrap(bridge.ErrPayloadTooLarge), protocol.CodePayloadTooLarge, 413, false},
		{"not pending", wrap(bridge.ErrNotPending), protocol.CodeAckNotPending, 409, false},
		{"consumer busy", wrap(bridge.ErrConsumerBusy), protocol.CodeConsumerBusy, 409, true},
		{"group mismatch", wrap(bridge.ErrDeliverGroupMismatch), protocol.CodeDeliverGroupMismatch, 409, false},
		{"filter mismatch", wrap(bridge.ErrFilterMismatch), protocol.CodeFilterMismatch, 409, false},
		{"filter not in stream", wrap(bridge.ErrFilterNotInStream), protocol.CodeFilterNotInStream, 400, false},
		{"unavailable", wrap(bridge.ErrUnavailable), protocol.CodeUnavailable, 503, true},
		{"subscription closed", bridge.ErrSubscriptionClosed, protocol.CodeUnavailable, 503, true},
		{"unauthenticated", fmt.Errorf("%w: bad token", auth.ErrUnauthenticated), protocol.CodeUnauthorized, 401, false},
		{"forbidden", fmt.Errorf("%w: no", auth.ErrForbidden), protocol.CodeForbidden, 403, false},
		{"reserved subject", wrap(bridge.ErrReservedSubject), protocol.CodeReservedSubject, 400, false},
		{"reserved subject refused by authorization", fmt.Errorf("%w: %w", auth.ErrForbidden, bridge.ErrReservedSubject), protocol.CodeReservedSubject, 403, false},
		{"reserved header", wrap(bridge.ErrReservedHeader), protocol.CodeReservedHeader, 400, false},
		{"reserved header refused by authorization", fmt.Errorf("%w: %w", auth.ErrForbidden, bridge.ErrReservedHeader), protocol.CodeReservedHeader, 403, false},
		{"invalid header", wrap(bridge.ErrInvalidHeader), protocol.CodeBadRequest, 400, false},
		{"precondition failed", wrap(bridge.ErrPreconditionFailed), protocol.CodePreconditionFailed, 412, false},
		{"publish refused", wrap(bridge.ErrPublishRefused), protocol.CodePublishRefused, 409, false},
		{"body timeout", httpx.NewError(protocol.CodeRequestTimeout, "slow", ""), protocol.CodeRequestTimeout, 408, true},
		{"max bytes", &http.MaxBytesError{Limit: 10}, protocol.CodeBodyTooLarge, 413, false},
		{"deadline", fmt.Errorf("waiting: %w", context.DeadlineExceeded), protocol.CodeTimeout, 504, true},
		{"cancelled", context.Canceled, protocol.CodeUnavailable, 503, true},
		{"protocol error", protocol.NewError(protocol.CodeBadRequest, "nope"), protocol.CodeBadRequest, 400, false},
		{"wrapped protocol error", fmt.Errorf("ctx: %w", protocol.NewError(protocol.CodeConsumerBusy, "busy")), protocol.CodeConsumerBusy, 409, true},
		{"anything else", errors.New("dial tcp 10.0.0.7:4222: secret internals"), protocol.CodeInternal, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := httpx.Classify(tt.err)
			require.NotNil(t, e)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.status, e.HTTPStatus())
			assert.Equal(t, tt.status, e.Status, "Status is set")
			assert.Equal(t, tt.retryable, e.Retryable)
			assert.NotEmpty(t, e.Message)
		})
	}
	assert.Nil(t, httpx.Classify(nil))

	t.Run("sentinel text is the message, the whole error the detail", func(t *testing.T) {
		e := httpx.Classify(wrap(bridge.ErrStreamNotFound))
		assert.Equal(t, "stream not found", e.Message)
		assert.Equal(t, "stream not found: details from JetStream", e.Detail)
		assert.Empty(t, httpx.Classify(bridge.ErrStreamNotFound).Detail, "no detail repeating the message")
	})
	t.Run("internal errors reveal nothing", func(t *testing.T) {
		e := httpx.Classify(errors.New("dial tcp 10.0.0.7:4222: secret internals"))
		assert.Equal(t, "internal error", e.Message)
		assert.Empty(t, e.Detail)
	})
}
