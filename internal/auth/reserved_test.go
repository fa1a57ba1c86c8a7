package auth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
)

// TestReservedNeverAllowed: no publish pattern, however wide, reaches
// the reserved subjects; no Nats-* header passes but the conditional ones
// a permission grants; admin rights do not stretch to streams capturing
// reserved subjects. The policy says why (reserved_subject,
// reserved_header) rather than a bare forbidden.
func TestReservedNeverAllowed(t *testing.T) {
	wide := auth.Permissions{Admin: auth.AdminFull, Publish: []string{">", "*.>", "*"},
		PublishHeaders: []string{"Nats-Expected-Last-Subject-Sequence"}}
	cases := []struct {
		name string
		a    auth.Action
		want error // nil: allowed
	}{
		{"ordinary subject", auth.Action{Kind: auth.Publish, Subject: "orders.eu"}, nil},
		{"delete a stream", auth.Action{Kind: auth.Publish, Subject: "$JS.API.STREAM.DELETE.V"}, bridge.ErrReservedSubject},
		{"ack another's delivery", auth.Action{Kind: auth.Publish, Subject: "$JS.ACK.V.worker.1.1.1.0.0"}, bridge.ErrReservedSubject},
		{"a KV bucket", auth.Action{Kind: auth.Publish, Subject: "$KV.b.k"}, bridge.ErrReservedSubject},
		{"one-token $ subject", auth.Action{Kind: auth.Publish, Subject: "$X"}, bridge.ErrReservedSubject},
		{"an inbox", auth.Action{Kind: auth.Publish, Subject: "_INBOX.x"}, bridge.ErrReservedSubject},
		{"httpmq's deliveries", auth.Action{Kind: auth.Publish, Subject: "_httpmq.deliver.x"}, bridge.ErrReservedSubject},
		{"a roll-up", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"Nats-Rollup": {"all"}}}, bridge.ErrReservedHeader},
		{"a roll-up in lower case", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"nats-rollup": {"all"}}}, bridge.ErrReservedHeader},
		{"a TTL", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"Nats-TTL": {"1s"}}}, bridge.ErrReservedHeader},
		{"a message id as a header", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"Nats-Msg-Id": {"x"}}}, bridge.ErrReservedHeader},
		{"a granted condition", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"nats-expected-last-subject-sequence": {"1"}}}, nil},
		{"a condition not granted", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"Nats-Expected-Last-Sequence": {"1"}}}, auth.ErrForbidden},
		{"other headers", auth.Action{Kind: auth.Publish, Subject: "kvt.a", Header: map[string][]string{"X-Trace": {"1"}}}, nil},
		{"a stream on its own subjects", auth.Action{Kind: auth.AdminWrite, Stream: "S", Subject: "orders.>"}, nil},
		{"a stream on inboxes", auth.Action{Kind: auth.AdminWrite, Stream: "S", Subject: "_INBOX.>"}, bridge.ErrReservedSubject},
		{"a stream on httpmq's subjects", auth.Action{Kind: auth.AdminWrite, Stream: "S", Subject: "_httpmq.>"}, bridge.ErrReservedSubject},
		{"a stream on everything", auth.Action{Kind: auth.AdminWrite, Stream: "S", Subject: ">"}, bridge.ErrReservedSubject},
		{"a stream on *.>", auth.Action{Kind: auth.AdminWrite, Stream: "S", Subject: "*.>"}, bridge.ErrReservedSubject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want == nil, wide.Allows(c.a))
			err := auth.Policy{}.Authorize(context.Background(), auth.Identity{Subject: "w", Perms: wide}, c.a)
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, err, auth.ErrForbidden, "a refusal of the authorizer")
		})
	}
}

// TestPermissionsValidateReserved: a permission that could only grant
// reserved subjects, or a header no permission may grant, makes the
// token or API key invalid instead of silently granting nothing.
func TestPermissionsValidateReserved(t *testing.T) {
	for _, p := range []auth.Permissions{
		{Publish: []string{"$JS.API.>"}},
		{Publish: []string{"$KV.bucket.*"}},
		{Publish: []string{"_INBOX.>"}},
		{Publish: []string{"_httpmq.deliver.x"}},
		{PublishHeaders: []string{"Nats-Rollup"}},
		{PublishHeaders: []string{"Nats-Msg-Id"}},
		{PublishHeaders: []string{"X-Trace"}},
		{Listen: []string{"$JS.ACK.>"}},
		{Listen: []string{"_INBOX.*"}},
		{Listen: []string{"a..b"}},
	} {
		assert.Error(t, p.Validate(), "%+v", p)
	}
	require.NoError(t, auth.Permissions{Publish: []string{">", "*.>"}, PublishHeaders: bridge.ConditionalHeaders()}.Validate())
	p, err := auth.ParsePermissions("publish=kvt.* publish_headers=Nats-Expected-Last-Subject-Sequence,nats-expected-stream")
	require.NoError(t, err)
	assert.Equal(t, auth.Permissions{Publish: []string{"kvt.*"},
		PublishHeaders: []string{"Nats-Expected-Last-Subject-Sequence", "nats-expected-stream"}}, p)
	_, err = auth.ParsePermissions(`{"publish":["$JS.>"]}`)
	require.Error(t, err)
	p, err = auth.ParsePermissions("listen=prices.>,news.*")
	require.NoError(t, err)
	assert.Equal(t, []string{"prices.>", "news.*"}, p.Listen)
	assert.False(t, p.Allows(auth.Action{Kind: auth.Listen, Subject: "$JS.API.x"}))
}
