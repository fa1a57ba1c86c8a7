package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/testenv"
)

// listening polls the JSON log for api's "listening" line.
func listening(t *testing.T, logs *testenv.LogBuffer, api string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range bytes.Split([]byte(logs.String()), []byte("\n")) {
			var l struct{ Msg, API, Addr string }
			if json.Unmarshal(line, &l) == nil && l.Msg == "listening" && l.API == api {
				return l.Addr
			}
		}
		<-time.After(10 * time.Millisecond) // poll interval
	}
	t.Fatalf("no listening line for %s:\n%s", api, logs.String())
	return ""
}

// serveInProcess runs serveAPIs in a goroutine; the returned function
// cancels it and returns its error.
func serveInProcess(t *testing.T, cfg *Config, apis []api, hooks *shutdownHooks) (logs *testenv.LogBuffer, stop func() error) {
	t.Helper()
	logs = &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- serveAPIs(ctx, cfg, log, apis, hooks) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(30 * time.Second):
				t.Fatal("serveAPIs did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return logs, stop
}

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, r.Proto)
}

func TestServeAPIsProtocols(t *testing.T) {
	cfg := defaultConfig()
	logs, stop := serveInProcess(t, cfg, []api{{name: "a", addr: "127.0.0.1:0", handler: http.HandlerFunc(hello)}}, &shutdownHooks{})
	addr := listening(t, logs, "a")

	h1 := &http.Client{Timeout: 10 * time.Second}
	assert.Equal(t, "HTTP/1.1", get(t, h1, "http://"+addr))

	// h2c with prior knowledge, as curl --http2-prior-knowledge.
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
	assert.Equal(t, "HTTP/2.0", get(t, h2c, "http://"+addr))
	h2c.CloseIdleConnections() // else Shutdown waits a second for the GOAWAY to be answered

	require.NoError(t, stop())
}

func TestServeAPIsTLS(t *testing.T) {
	cfg := defaultConfig()
	cfg.TLSCert, cfg.TLSKey = selfSigned(t)
	logs, stop := serveInProcess(t, cfg, []api{{name: "a", addr: "127.0.0.1:0", handler: http.HandlerFunc(hello)}}, &shutdownHooks{})
	addr := listening(t, logs, "a")
	assert.Contains(t, logs.String(), `"url":"https://`+addr)

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true} //nolint:gosec // self-signed test cert
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	assert.Equal(t, "HTTP/2.0", get(t, c, "https://"+addr))
	tr.CloseIdleConnections()

	require.NoError(t, stop())
}

func TestServeAPIsGracefulShutdown(t *testing.T) {
	cfg := defaultConfig()
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	hooks := &shutdownHooks{}
	var lnAddr string
	hookRan := make(chan error, 1)
	hooks.Add(func(ctx context.Context) {
		// Listeners are closed before hooks run: nothing new is accepted.
		c, err := net.DialTimeout("tcp", lnAddr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		_, hasDeadline := ctx.Deadline()
		if !hasDeadline {
			err = context.DeadlineExceeded // wrong: hooks get the shutdown deadline
		}
		hookRan <- err
		close(release) // e.g. a session closing: the in-flight request ends
	})
	logs, stop := serveInProcess(t, cfg, []api{{name: "slow", addr: "127.0.0.1:0", handler: slow}}, hooks)
	lnAddr = listening(t, logs, "slow")

	result := make(chan string, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + lnAddr)
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- string(b)
	}()
	<-entered
	require.NoError(t, stop())
	assert.Error(t, <-hookRan, "the listener was closed before the hook ran")
	assert.Equal(t, "finished", <-result, "the in-flight request completed")
	assert.Contains(t, logs.String(), `"msg":"shutting down"`)
}

func TestServeAPIsShutdownTimeout(t *testing.T) {
	cfg := defaultConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	entered := make(chan struct{})
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // ends only when the connection is closed
	})
	logs, stop := serveInProcess(t, cfg, []api{{name: "stuck", addr: "127.0.0.1:0", handler: stuck}}, &shutdownHooks{})
	addr := listening(t, logs, "stuck")
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + addr)
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	require.NoError(t, stop())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, logs.String(), "shutdown timed out")
	<-done
}

func TestServeAPIsPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	logs := &testenv.LogBuffer{}
	err = serveAPIs(t.Context(), defaultConfig(), slog.New(slog.NewJSONHandler(logs, nil)), []api{
		{name: "free", addr: "127.0.0.1:0", handler: http.HandlerFunc(hello)},
		{name: "taken", addr: ln.Addr().String(), handler: http.HandlerFunc(hello)},
	}, &shutdownHooks{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "taken API")
}

// TestRunServerEmbedded runs the whole wiring in-process so that goleak
// (in TestMain) sees every goroutine of the embedded server and bridge end.
func TestRunServerEmbedded(t *testing.T) {
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.ManagementAddr, cfg.DataplaneAddr = "127.0.0.1:0", "127.0.0.1:0"
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- runServer(ctx, cfg, modeServe, log) }()

	c := &http.Client{Timeout: 10 * time.Second}
	mgmt := listening(t, logs, "management")
	dp := listening(t, logs, "dataplane")
	assert.Contains(t, get(t, c, "http://"+mgmt+"/v1/admin/ready"), `"success":true`)
	resp, err := c.Get("http://" + dp + "/v1/nothing-here")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	c.CloseIdleConnections()

	cancel()
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("runServer did not return")
	}
	assert.Contains(t, logs.String(), "embedded JetStream stopped")
	assert.Contains(t, logs.String(), `"msg":"configuration"`, "the configuration is logged at debug")
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// selfSigned writes a certificate for 127.0.0.1 and its key, returning
// their paths. It serves as server and client certificate alike.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "httpmq test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Also a client certificate (its own CA) for mutual TLS tests.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}
