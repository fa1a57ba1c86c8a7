package admin_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestOpenAPIAuthFailures: every management operation but the probes
// answers 401 without credentials or with bad ones, and 403 to a caller
// without the admin right it needs, as docs/openapi.yaml documents
// (env.do validates each answer against it). The probes need no
// credentials.
func TestOpenAPIAuthFailures(t *testing.T) {
	keys, err := auth.NewAPIKeys([]auth.APIKey{
		{Name: "reader", SHA256: auth.HashAPIKey("hmq_reader"), Perms: auth.Permissions{Admin: auth.AdminReadOnly}},
		{Name: "nobody", SHA256: auth.HashAPIKey("hmq_nobody")},
	})
	require.NoError(t, err)
	gate := &auth.Gate{Authn: &auth.Tokens{Keys: keys}, Authz: auth.Policy{}}
	e := newEnv(t, admin.Options{Gate: gate}, testenv.Options{})

	// Valid bodies: some routes decode the body before authorizing.
	bodies := map[string]string{
		"POST /v1/admin/stream":                                `{"name":"s","subjects":["s"]}`,
		"PUT /v1/admin/stream/{stream}":                        `{"description":"d"}`,
		"PUT /v1/admin/stream/{stream}/subject":                `{"subjects":["s"]}`,
		"PUT /v1/admin/stream/{stream}/limit":                  `{"max_msgs":1}`,
		"POST /v1/admin/stream/{stream}/consumer":              `{"name":"c","mode":"pull"}`,
		"POST /v1/admin/stream/{stream}/purge":                 `{"keep":1}`,
		"GET /v1/admin/stream/{stream}/message/{seq}":          "",
		"DELETE /v1/admin/stream/{stream}/consumer/{consumer}": "",
	}
	concrete := strings.NewReplacer("{stream}", "testStream00", "{consumer}", "testConsumer00", "{seq}", "1")
	bearer := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	var guarded []string
	for _, op := range mustSpec(t).Operations() {
		method, tmpl, _ := strings.Cut(op, " ")
		path := concrete.Replace(tmpl)
		if tmpl == "/v1/admin/alive" || tmpl == "/v1/admin/ready" {
			e.ok(t, method, path, "")
			continue
		}
		guarded = append(guarded, op)
		body := bodies[op]
		e.fails(t, 401, "unauthorized", method, path, body)
		e.fails(t, 401, "unauthorized", method, path, body, bearer("hmq_wrong")...)
		e.fails(t, 401, "unauthorized", method, path, body, "Authorization", "Basic dXNlcjpwYXNz")
		e.fails(t, 403, "forbidden", method, path, body, bearer("hmq_nobody")...)
		if method != "GET" {
			e.fails(t, 403, "forbidden", method, path, body, bearer("hmq_reader")...)
		}
	}
	require.NotEmpty(t, guarded)
	for _, op := range guarded {
		assert.True(t, e.seen[op+" Unauthorized"], "%s never answered 401", op)
		assert.True(t, e.seen[op+" Forbidden"], "%s never answered 403", op)
	}
}
