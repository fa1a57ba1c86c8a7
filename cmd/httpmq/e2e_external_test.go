package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/httpmq/httpmq/internal/testenv"
)

// TestServeExternalNATS runs the binary against a NATS server of its own
// (--nats-url), as a deployment on a cluster would: no embedded server
// starts, the APIs work through the external one, and readiness follows
// that server's fate.
func TestServeExternalNATS(t *testing.T) {
	env := testenv.New(t, testenv.Options{Listen: "127.0.0.1:-1"})
	p := startHTTPMQ(t, "serve", "--nats-url", env.Server.ClientURL(),
		"--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0", "--request-timeout", "1s")
	admin := newClient(t, p.addr(t, "management"))
	admin.do("GET", "/v1/admin/ready", "", 200)
	admin.do("POST", "/v1/admin/stream", seedStreamBody, 200)
	assert.Nil(t, p.findLog("embedded JetStream started"), "no embedded server with --nats-url")

	// The stream lives in the external server, where the test's own
	// bridge sees it.
	si, err := env.Bridge.Stream(testenv.Context(t), "testStream00")
	if assert.NoError(t, err) {
		assert.Equal(t, []string{"test-subject.00", "test-subject.01"}, si.Config.Subjects)
	}

	env.Server.Shutdown()
	admin.do("GET", "/v1/admin/ready", "", 503)
	admin.do("GET", "/v1/admin/alive", "", 200)
	p.stop(t)
}
