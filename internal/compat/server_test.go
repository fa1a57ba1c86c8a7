package compat_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/testenv"
)

// transports are those the original SDKs use: HTTP/1.1 (both SDKs) and
// cleartext HTTP/2 with prior knowledge (the Go SDK with an h2c client,
// as the original README's curl --http2-prior-knowledge).
var transports = []testenv.Transport{testenv.HTTP1, testenv.H2C}

// httpmq is one httpmq as the original ran it: the management API and
// the dataplane API on two listeners, over one JetStream.
type httpmq struct {
	env  *testenv.Env
	mgmt *testenv.Server
	data *testenv.Server
}

// start serves both APIs over tr until the test ends. The servers have
// read and write timeouts, as the binary's: subscription streams must
// outlive them.
func start(t *testing.T, tr testenv.Transport) *httpmq {
	t.Helper()
	env := testenv.New(t, testenv.Options{})
	log := testenv.Logger()
	rest := dataplane.New(dataplane.Options{Bridge: env.Bridge, Logger: log, Heartbeat: 200 * time.Millisecond})
	o := testenv.ServeOptions{Timeout: time.Second}
	h := &httpmq{
		env:  env,
		mgmt: testenv.Serve(t, admin.New(admin.Options{Bridge: env.Bridge, Logger: log}), tr, o),
		data: testenv.Serve(t, rest, tr, o),
	}
	t.Cleanup(func() { require.NoError(t, rest.Close()) }) // before the servers close
	return h
}
