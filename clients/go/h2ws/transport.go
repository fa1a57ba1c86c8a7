//lint:file-ignore SA1019 x/net/http2.Transport is deprecated in favour of net/http's, which refuses the :protocol pseudo-header RFC 8441 needs.

package h2ws

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/http2"
)

// Transport is an http.RoundTripper that sends WebSocket handshakes as
// HTTP/2 extended CONNECT (RFC 8441) and everything else as ordinary
// HTTP/2 requests. Use it as websocket.DialOptions.HTTPClient's
// transport. The zero value dials TLS with default settings.
type Transport struct {
	// TLS configures https/wss connections.
	TLS *tls.Config
	// H2C sends http/ws URLs as cleartext HTTP/2 with prior knowledge;
	// otherwise such URLs fail.
	H2C bool

	t *http2.Transport
}

// NewTransport returns a Transport for TLS (tlsConfig may be nil) or,
// with h2c, for cleartext HTTP/2.
func NewTransport(tlsConfig *tls.Config, h2c bool) *Transport {
	t := &Transport{TLS: tlsConfig, H2C: h2c}
	t.t = &http2.Transport{TLSClientConfig: tlsConfig}
	if h2c {
		t.t.AllowHTTP = true
		t.t.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	return t
}

// CloseIdleConnections closes pooled connections.
func (t *Transport) CloseIdleConnections() { t.t.CloseIdleConnections() }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.t == nil {
		return nil, errors.New("h2ws: use NewTransport")
	}
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		return t.t.RoundTrip(req)
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	pr, pw := io.Pipe()
	// As with HTTP/1.1, the request's context bounds the handshake only:
	// the stream lives until the connection is closed.
	streamCtx, cancel := context.WithCancel(context.WithoutCancel(req.Context()))
	stop := context.AfterFunc(req.Context(), cancel)
	c := req.Clone(streamCtx)
	c.Method = http.MethodConnect
	for _, h := range []string{"Upgrade", "Connection", "Sec-WebSocket-Key"} {
		c.Header.Del(h)
	}
	c.Header.Set(":protocol", "websocket")
	c.Body = pr
	c.ContentLength = -1
	resp, err := t.t.RoundTrip(c)
	if !stop() {
		if err == nil {
			resp.Body.Close()
		}
		pw.Close()
		return nil, req.Context().Err()
	}
	if err != nil {
		cancel()
		pw.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		pw.Close()
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	resp.StatusCode = http.StatusSwitchingProtocols
	resp.Status = "101 Switching Protocols"
	resp.Header.Set("Upgrade", "websocket")
	resp.Header.Set("Connection", "Upgrade")
	resp.Header.Set("Sec-WebSocket-Accept", acceptKey(key))
	resp.Body = &stream{ReadCloser: resp.Body, w: pw, cancel: cancel}
	return resp, nil
}

// cancelBody ends the stream's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

// stream joins the response body (server → client) and the request
// body pipe (client → server) into one io.ReadWriteCloser.
type stream struct {
	io.ReadCloser
	w      *io.PipeWriter
	cancel context.CancelFunc
}

func (s *stream) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *stream) Close() error {
	defer s.cancel()
	return errors.Join(s.w.Close(), s.ReadCloser.Close())
}

func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
