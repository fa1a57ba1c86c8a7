package admin_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestStreamsOutsideReservedSubjects: no stream may capture subjects of
// NATS, JetStream or httpmq (request inboxes, httpmq's deliveries, KV
// buckets...), not even with full admin rights: 403 reserved_subject
// when authorization refuses it, 400 without authentication.
func TestStreamsOutsideReservedSubjects(t *testing.T) {
	keys, err := auth.NewAPIKeys([]auth.APIKey{{Name: "root", SHA256: auth.HashAPIKey("hmq_root"), Perms: auth.Permissions{Admin: auth.AdminFull}}})
	require.NoError(t, err)
	for _, c := range []struct {
		name    string
		opts    admin.Options
		status  int
		headers []string
	}{
		{"no authentication", admin.Options{}, 400, nil},
		{"admin full", admin.Options{Gate: &auth.Gate{Authn: &auth.Tokens{Keys: keys}, Authz: auth.Policy{}}}, 403,
			[]string{"Authorization", "Bearer hmq_root"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts, testenv.Options{})
			e.ok(t, "POST", "/v1/admin/stream", `{"name":"S","subjects":["s.>"]}`, c.headers...)
			for _, s := range []string{"_INBOX.>", "_httpmq.>", "_httpmq.deliver.*", "$KV.bucket.>", "$JS.API.>", ">", "*.>", "*", "*.orders"} {
				body := fmt.Sprintf(`{"subjects":["s.>",%q]}`, s)
				e.fails(t, c.status, "reserved_subject", "POST", "/v1/admin/stream", fmt.Sprintf(`{"name":"EVIL","subjects":[%q]}`, s), c.headers...)
				e.fails(t, c.status, "reserved_subject", "PUT", "/v1/admin/stream/S/subject", body, c.headers...)
				e.fails(t, c.status, "reserved_subject", "PUT", "/v1/admin/stream/S", body, c.headers...)
			}
			e.fails(t, c.status, "reserved_subject", "POST", "/v1/admin/stream", `{"name":"$SYS"}`, c.headers...)
			r := e.ok(t, "GET", "/v1/admin/stream/S", "", c.headers...)
			require.Equal(t, []any{"s.>"}, r.get("stream.config.subjects"))
			e.fails(t, 404, "stream_not_found", "GET", "/v1/admin/stream/EVIL", "", c.headers...)
		})
	}
}
