package bridge

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
)

// TestClassifyPublishRefusals: JetStream's answers to a refused publish
// (codes from nats-server's errors.json) become precise sentinels.
func TestClassifyPublishRefusals(t *testing.T) {
	cases := []struct {
		code   jetstream.ErrorCode
		status int
		desc   string
		want   error
	}{
		{10071, 400, "wrong last sequence: 3", ErrPreconditionFailed},
		{10164, 400, "wrong last sequence", ErrPreconditionFailed},
		{10070, 400, "wrong last msg ID: a", ErrPreconditionFailed},
		{10060, 400, "expected stream does not match", ErrPreconditionFailed},
		{10111, 500, "rollup not permitted", ErrPublishRefused},
		{10109, 400, "invalid operation on sealed stream", ErrPublishRefused},
		{10166, 400, "per-message TTL is disabled", ErrPublishRefused},
		{10165, 400, "invalid per-message TTL", ErrPublishRefused},
		{10054, 400, "message size exceeds maximum allowed", ErrPayloadTooLarge},
		{10097, 400, "header size exceeds maximum allowed of 64k", ErrPayloadTooLarge},
		{10052, 500, "stream config invalid", ErrInvalidConfig},
		{10077, 503, "maximum messages exceeded", ErrUnavailable},
	}
	for _, c := range cases {
		api := &jetstream.APIError{Code: c.status, ErrorCode: c.code, Description: c.desc}
		for _, err := range []error{api, fmt.Errorf("nats: %w", api)} {
			got := classify(err)
			assert.ErrorIs(t, got, c.want, "%d", c.code)
			assert.Contains(t, got.Error(), c.desc)
			for _, other := range []error{ErrPreconditionFailed, ErrPublishRefused, ErrPayloadTooLarge, ErrInvalidConfig, ErrUnavailable} {
				if !errors.Is(c.want, other) {
					assert.NotErrorIs(t, got, other, "%d", c.code)
				}
			}
		}
	}
}
