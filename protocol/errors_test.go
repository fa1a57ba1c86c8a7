package protocol_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

func TestCodeHTTPStatus(t *testing.T) {
	cases := []struct {
		code   protocol.Code
		status int
	}{
		{protocol.CodeBadRequest, 400},
		{protocol.CodeMalformedFrame, 400},
		{protocol.CodeUnauthorized, 401},
		{protocol.CodeForbidden, 403},
		{protocol.CodeNotFound, 404},
		{protocol.CodeStreamNotFound, 404},
		{protocol.CodeMethodNotAllowed, 405},
		{protocol.CodeStreamExists, 409},
		{protocol.CodeAckNotPending, 409},
		{protocol.CodePayloadTooLarge, 413},
		{protocol.CodeBodyTooLarge, 413},
		{protocol.CodeRateLimited, 429},
		{protocol.CodeInternal, 500},
		{protocol.CodeUnavailable, 503},
		{protocol.CodeTooManySessions, 503},
		{protocol.CodeShuttingDown, 503},
		{protocol.CodeTimeout, 504},
		{protocol.CodeReservedSubject, 400},
		{protocol.CodeReservedHeader, 400},
		{protocol.CodeRequestTimeout, 408},
		{protocol.CodePublishRefused, 409},
		{protocol.CodePreconditionFailed, 412},
		{protocol.Code("no_such_code"), 500},
	}
	for _, tc := range cases {
		t.Run(string(tc.code), func(t *testing.T) {
			assert.Equal(t, tc.status, tc.code.HTTPStatus())
			assert.Equal(t, tc.status, protocol.NewError(tc.code, "").HTTPStatus())
		})
	}
	e := protocol.NewError(protocol.CodeReservedSubject, "refused by authorization")
	e.Status = 403
	assert.Equal(t, 403, e.HTTPStatus(), "Status overrides the code's")
}

func TestCodesAreUniqueAndMapped(t *testing.T) {
	seen := map[protocol.Code]bool{}
	for _, c := range protocol.Codes() {
		assert.False(t, seen[c], "duplicate %s", c)
		seen[c] = true
		assert.Regexp(t, `^[a-z]+(_[a-z]+)*$`, string(c))
		if c != protocol.CodeInternal {
			assert.NotEqual(t, 500, c.HTTPStatus(), "%s has no explicit status", c)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	nf := protocol.NewError(protocol.CodeStreamNotFound, `stream "X" not found`)
	wrapped := fmt.Errorf("subscribe: %w", nf)

	e, ok := protocol.AsError(wrapped)
	require.True(t, ok)
	assert.Same(t, nf, e)
	assert.ErrorIs(t, wrapped, &protocol.Error{Code: protocol.CodeStreamNotFound})
	assert.NotErrorIs(t, wrapped, &protocol.Error{Code: protocol.CodeConsumerNotFound})
	assert.Equal(t, `stream_not_found: stream "X" not found`, nf.Error())

	_, ok = protocol.AsError(errors.New("boom"))
	assert.False(t, ok)
	internal := protocol.ErrorOf(errors.New("dial tcp 10.0.0.1:4222: secret detail"))
	assert.Equal(t, protocol.CodeInternal, internal.Code)
	assert.NotContains(t, internal.Message, "secret")
	assert.Nil(t, protocol.ErrorOf(nil))

	assert.True(t, protocol.NewError(protocol.CodeUnavailable, "").Retryable)
	assert.False(t, protocol.NewError(protocol.CodeBadRequest, "").Retryable)
}

func TestErrorFrame(t *testing.T) {
	e := protocol.NewError(protocol.CodeTimeout, "JetStream did not answer")
	f := protocol.ErrorFrame("7", e)
	assert.Equal(t, &protocol.Frame{Type: protocol.TypeError, ID: "7", Status: 504, Reason: "timeout", Message: "JetStream did not answer", Retryable: true}, f)
	require.NoError(t, f.Validate())
	assert.Equal(t, e, f.Err(), "frame -> error loses nothing")

	_, derr := protocol.MsgpackCodec{}.Decode([]byte{0x01})
	f = protocol.ErrorFrame("", derr)
	assert.Equal(t, 400, f.Status)
	assert.Equal(t, string(protocol.CodeMalformedFrame), f.Reason)

	// A literal without Status gets its code's status.
	f = protocol.ClosedFrame("orders", &protocol.Error{Code: protocol.CodeConsumerNotFound, Message: "consumer deleted"})
	assert.Equal(t, &protocol.Frame{Type: protocol.TypeClosed, Sub: "orders", Status: 404, Reason: "consumer_not_found", Message: "consumer deleted"}, f)
	require.NoError(t, f.Validate())

	assert.Nil(t, (&protocol.Frame{Type: protocol.TypeOK, ID: "1"}).Err())
	assert.Nil(t, (&protocol.Frame{Type: protocol.TypeTerm, Reason: "bad order"}).Err(), "a term frame's reason is no error")
}

// TestErrorJSON: "code" is the HTTP status (an integer, as the original
// httpmq sent it) and "reason" the stable string, whatever Status holds.
func TestErrorJSON(t *testing.T) {
	cases := []struct {
		name string
		err  protocol.Error
		want string
	}{
		{"NewError", *protocol.NewError(protocol.CodeStreamNotFound, "stream not found"),
			`{"code":404,"reason":"stream_not_found","message":"stream not found"}`},
		{"literal without status", protocol.Error{Code: protocol.CodeUnavailable, Message: "m", Detail: "d", Retryable: true},
			`{"code":503,"reason":"unavailable","message":"m","detail":"d","retryable":true}`},
		{"rate limited", protocol.Error{Code: protocol.CodeRateLimited, Message: "m", Retryable: true, RetryAfter: 250 * time.Millisecond},
			`{"code":429,"reason":"rate_limited","message":"m","retryable":true,"retry_after":250000000}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []any{tc.err, &tc.err} {
				b, err := json.Marshal(v)
				require.NoError(t, err)
				assert.JSONEq(t, tc.want, string(b))
			}
			var back protocol.Error
			require.NoError(t, json.Unmarshal([]byte(tc.want), &back))
			assert.Equal(t, tc.err.HTTPStatus(), back.Status)
			assert.Equal(t, tc.err.Code, back.Code)
			assert.Equal(t, tc.err.RetryAfter, back.RetryAfter)
		})
	}
}

func TestCloseCodes(t *testing.T) {
	cases := []struct {
		code      protocol.CloseCode
		value     int
		name      string
		reconnect bool
	}{
		{protocol.CloseNormal, 1000, "normal", false},
		{protocol.CloseGoingAway, 1001, "going_away", true},
		{protocol.CloseProtocolError, 1002, "protocol_error", false},
		{protocol.ClosePolicyViolation, 1008, "policy_violation", false},
		{protocol.CloseMessageTooBig, 1009, "message_too_big", false},
		{protocol.CloseInternalError, 1011, "internal_error", true},
		{protocol.CloseSlowConsumer, 4000, "slow_consumer", true},
		{protocol.CloseTooManySessions, 4001, "too_many_sessions", true},
		{protocol.CloseIdleTimeout, 4002, "idle_timeout", true},
		{protocol.CloseUnsupportedSubprotocol, 4003, "unsupported_subprotocol", false},
		{protocol.CloseAuthExpired, 4004, "auth_expired", true},
		{protocol.CloseCode(4999), 4999, "close_4999", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.value, int(tc.code))
			assert.Equal(t, tc.name, tc.code.String())
			assert.Equal(t, tc.reconnect, tc.code.Reconnect())
		})
	}
	assert.Len(t, protocol.CloseCodes(), len(cases)-1)
}
