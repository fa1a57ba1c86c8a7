package testenv

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/httpmq/httpmq/clients/go/h2ws"
)

// Transport is how a test reaches a test server.
type Transport string

// The three ways clients reach httpmq.
const (
	HTTP1 Transport = "HTTP/1.1"   // plain HTTP/1.1; WebSockets by Upgrade
	H2TLS Transport = "HTTP/2 TLS" // HTTP/2 over TLS; WebSockets by extended CONNECT
	H2C   Transport = "h2c"        // cleartext HTTP/2, prior knowledge; extended CONNECT
)

// Transports lists them all, for table tests.
var Transports = []Transport{HTTP1, H2TLS, H2C}

// Servers that speak HTTP/2 only, for clients that must fall back to it.
const (
	H2TLSOnly Transport = "HTTP/2 TLS only"
	H2COnly   Transport = "h2c only"
)

// Server is a handler served on loopback over one transport.
type Server struct {
	// URL is the base URL: http://… or https://host:port.
	URL string
	// WSURL is URL with ws:// or wss://.
	WSURL string
	// Client sends plain requests over the transport (HTTP/2 prior
	// knowledge for H2C).
	Client *http.Client
	// WSClient is for websocket.DialOptions.HTTPClient: it sends
	// handshakes as extended CONNECT over HTTP/2; nil for HTTP1, which
	// needs no special client.
	WSClient *http.Client
	// TLS trusts the server's certificate (H2TLS only).
	TLS *tls.Config
}

// ServeOptions tune [Serve]; the zero value is fine.
type ServeOptions struct {
	// Timeout, when set, is the server's ReadTimeout and WriteTimeout:
	// long-lived responses and WebSockets must outlive it.
	Timeout time.Duration
}

// Serve serves h over tr until the test ends.
func Serve(t testing.TB, h http.Handler, tr Transport, o ServeOptions) *Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = o.Timeout, o.Timeout
	s := &Server{}
	var h2 *h2ws.Transport
	switch tr {
	case HTTP1:
		ts.Start()
		s.Client = ts.Client()
	case H2TLS, H2TLSOnly:
		ts.EnableHTTP2 = true
		if tr == H2TLSOnly {
			ts.Config.Protocols = new(http.Protocols)
			ts.Config.Protocols.SetHTTP2(true)
		}
		ts.StartTLS()
		s.Client = ts.Client()
		s.TLS = &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
		h2 = h2ws.NewTransport(s.TLS, false)
	case H2C, H2COnly:
		ts.Config.Protocols = new(http.Protocols)
		ts.Config.Protocols.SetHTTP1(tr == H2C)
		ts.Config.Protocols.SetUnencryptedHTTP2(true)
		ts.Start()
		h2 = h2ws.NewTransport(nil, true)
		s.Client = &http.Client{Transport: h2}
	default:
		t.Fatalf("unknown transport %q", tr)
	}
	if h2 != nil {
		s.WSClient = &http.Client{Transport: h2}
	}
	s.URL = ts.URL
	if len(ts.URL) > 5 && ts.URL[:5] == "https" {
		s.WSURL = "wss" + ts.URL[5:]
	} else {
		s.WSURL = "ws" + ts.URL[4:]
	}
	t.Cleanup(func() {
		s.Client.CloseIdleConnections()
		if h2 != nil {
			h2.CloseIdleConnections()
		}
		ts.Close()
	})
	return s
}

// Shutdown runs fn with a bounded context; for handlers' Shutdown methods
// in t.Cleanup.
func Shutdown(fn func(context.Context) error) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = fn(ctx)
	}
}
