package gosdk_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/httpmq/httpmq/admin"
	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The transports the tests run over, from testenv.
type transport = testenv.Transport

const (
	http1 = testenv.HTTP1
	h2tls = testenv.H2TLS
	h2c   = testenv.H2C
)

var transports = testenv.Transports

// server is a real httpmq in-process: management, REST dataplane and
// sessions on one listener, over an embedded JetStream.
type server struct {
	env      *testenv.Env
	URL      string // http(s)://host:port
	WSURL    string // ws(s)://host:port/v1/session
	client   *http.Client
	tls      *tls.Config
	sessions *session.Handler
	gate     *auth.Gate // authentication; nil: none

	mu     sync.Mutex
	protos []string // method and protocol of each session handshake
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protos...)
}

// handler routes like cmd/httpmq does (one listener here, for brevity).
func (s *server) handler(env *testenv.Env) (http.Handler, func(context.Context)) {
	mgmt := admin.New(admin.Options{Bridge: env.Bridge, Logger: testenv.Logger(), Gate: s.gate})
	data := dataplane.New(dataplane.Options{Bridge: env.Bridge, Logger: testenv.Logger(), Heartbeat: 200 * time.Millisecond, Gate: s.gate})
	sessions := session.New(session.Options{Broker: env.Bridge, Logger: testenv.Logger(), Gate: s.gate})
	s.sessions = sessions
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/session":
			s.mu.Lock()
			s.protos = append(s.protos, r.Method+" "+r.Proto)
			s.mu.Unlock()
			sessions.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/v1/admin/"):
			mgmt.ServeHTTP(w, r)
		default:
			data.ServeHTTP(w, r)
		}
	})
	shutdown := func(ctx context.Context) {
		_ = sessions.Shutdown(ctx)
		_ = data.Shutdown(ctx)
	}
	return h, shutdown
}

func startServer(t *testing.T, tr transport) *server {
	t.Helper()
	return startGated(t, tr, nil)
}

// startGated starts a server whose gate (nil: none) authenticates every
// request and session.
func startGated(t *testing.T, tr transport, gate *auth.Gate) *server {
	t.Helper()
	s := &server{env: testenv.New(t, testenv.Options{}), gate: gate}
	h, shutdown := s.handler(s.env)
	ts := testenv.Serve(t, h, tr, testenv.ServeOptions{})
	s.URL, s.WSURL, s.tls = ts.URL, ts.WSURL+"/v1/session", ts.TLS
	s.client = ts.Client
	if tr == h2tls || tr == testenv.H2TLSOnly { // the SDK's REST clients: HTTP/2 over TLS, negotiated
		s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: s.tls, ForceAttemptHTTP2: true}}
		t.Cleanup(s.client.CloseIdleConnections)
	}
	t.Cleanup(testenv.Shutdown(func(ctx context.Context) error { shutdown(ctx); return nil }))
	return s
}

func (s *server) admin() *httpmq.AdminClient {
	return httpmq.NewAdminClient(s.URL, &httpmq.ClientOptions{HTTPClient: s.client})
}

func (s *server) data() *httpmq.DataClient {
	return httpmq.NewDataClient(s.URL, &httpmq.ClientOptions{HTTPClient: s.client})
}

// dial opens a session, closed when the test ends.
func (s *server) dial(t *testing.T, o *httpmq.SessionOptions) *httpmq.Session {
	t.Helper()
	var opts httpmq.SessionOptions
	if o != nil {
		opts = *o
	}
	opts.TLSConfig = s.tls
	sess, err := httpmq.Dial(ctx(t), s.WSURL, &opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sess.Close()) })
	return sess
}

// ctx is a context that ends with the test, or after 30 s.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// setup defines a stream and a consumer over the admin client.
func setup(t *testing.T, a *httpmq.AdminClient, stream string, c httpmq.NewConsumer) {
	t.Helper()
	_, err := a.CreateStream(ctx(t), httpmq.NewStream{Name: stream, Subjects: []string{stream + ".>"}})
	require.NoError(t, err)
	if c.Name != "" {
		_, err = a.CreateConsumer(ctx(t), stream, c)
		require.NoError(t, err)
	}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
