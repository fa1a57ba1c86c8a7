package tlsreload_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/internal/tlsreload"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeCert writes a self-signed certificate for 127.0.0.1 with serial
// n to dir/tls.crt and dir/tls.key, and returns it.
func writeCert(t *testing.T, dir string, n int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "httpmq test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	// Written beside, then renamed: what careful tools (and Kubernetes) do.
	for name, b := range map[string][]byte{
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, b, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// served returns the serial of the certificate a new TLS handshake gets.
func served(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // inspecting the certificate only
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestReloadKeepsSessions: the certificate files change on disk; new
// handshakes get the new certificate while a WebSocket session opened
// with the old one keeps working. A broken file keeps the current one.
func TestReloadKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	r, err := tlsreload.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), testenv.Logger())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { require.NoError(t, r.Watch(ctx)) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	env := testenv.New(t, testenv.Options{})
	sessions := session.New(session.Options{Broker: env.Bridge, Logger: testenv.Logger()})
	// Not StartTLS: it would install its own certificate.
	ts := httptest.NewUnstartedServer(sessions)
	ts.Listener = tls.NewListener(ts.Listener, &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	ts.Start()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = sessions.Shutdown(sctx)
		ts.Close()
	})
	addr := strings.TrimPrefix(ts.URL, "http://")
	require.Equal(t, int64(1), served(t, addr))

	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, "wss://"+addr, &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{"httpmq.v1.json"}})
	require.NoError(t, err)
	defer conn.CloseNow()
	ping := func() {
		t.Helper()
		b, err := protocol.JSONCodec{}.Encode(&protocol.Frame{Type: protocol.TypePing, ID: "p"})
		require.NoError(t, err)
		require.NoError(t, conn.Write(dctx, websocket.MessageText, b))
		for {
			_, data, err := conn.Read(dctx)
			require.NoError(t, err)
			pong := false
			protocol.Frames(protocol.JSONCodec{}, data, func(f *protocol.Frame, err error) {
				pong = pong || (err == nil && f.Type == protocol.TypePong)
			})
			if pong {
				return
			}
		}
	}
	ping()

	writeCert(t, dir, 2)
	testenv.Eventually(t, "the new certificate served", func() bool { return served(t, addr) == 2 })
	ping() // the session opened before the reload is still up

	loads := r.Loads()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("garbage"), 0o600))
	require.Error(t, r.Reload())
	require.Equal(t, loads, r.Loads())
	require.Equal(t, int64(2), served(t, addr), "a broken file keeps the current certificate")
	require.Equal(t, 1, sessions.Sessions())
}
