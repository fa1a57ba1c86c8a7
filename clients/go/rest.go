package httpmq

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/httpmq/httpmq/protocol"
)

// RequestIDHeader carries a REST request's id, both ways.
const RequestIDHeader = "Httpmq-Request-ID"

// ClientOptions configure [NewAdminClient] and [NewDataClient]. The zero
// value (or nil) is fine.
type ClientOptions struct {
	// HTTPClient sends the requests. Default: a client of its own with
	// HTTP/2 over TLS when the server offers it and HTTP/1.1 otherwise.
	// For cleartext HTTP/2 (h2c) pass a client whose transport has
	// Protocols set to UnencryptedHTTP2. Its Timeout, if any, also cuts
	// REST subscriptions: prefer contexts.
	HTTPClient *http.Client
	// Header is added to every request (static credentials, say).
	Header http.Header
	// Token, when set, is called for every request; its token goes as
	// Authorization: Bearer (replacing one in Header). A failure fails
	// the request with an error wrapping [ErrToken].
	Token TokenFunc
}

// rest is what the admin and data clients share: a base URL and the
// envelope.
type rest struct {
	base   string
	hc     *http.Client
	header http.Header
	token  TokenFunc
	own    *http.Transport // the default transport, when HTTPClient was nil
}

func newRest(baseURL string, opts *ClientOptions) rest {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	r := rest{base: strings.TrimRight(baseURL, "/"), hc: o.HTTPClient, header: o.Header.Clone(), token: o.Token}
	if r.hc == nil {
		r.own = http.DefaultTransport.(*http.Transport).Clone()
		r.hc = &http.Client{Transport: r.own}
	}
	return r
}

// CloseIdleConnections closes the pooled connections of the client's own
// transport (not of a ClientOptions.HTTPClient).
func (r *rest) CloseIdleConnections() {
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
}

// newRequest builds a request for path (already escaped) with a JSON body
// when body is not nil.
func (r *rest) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("httpmq: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("httpmq: %w", err)
	}
	if err := r.setHeader(req); err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// setHeader adds the configured header and credentials to req.
func (r *rest) setHeader(req *http.Request) error {
	for k, vs := range r.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if r.token != nil {
		tok, err := token(req.Context(), r.token)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// do sends req and decodes a successful answer's payload into out (nil:
// ignore it). A failure answer becomes an *APIError.
func (r *rest) do(req *http.Request, out any) error {
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("httpmq: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("httpmq: %s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	return decodeAnswer(resp, raw, out)
}

// decodeAnswer checks the envelope of a complete answer.
func decodeAnswer(resp *http.Response, raw []byte, out any) error {
	var env protocol.Envelope
	jsonErr := json.Unmarshal(raw, &env)
	if jsonErr != nil || (!env.Success && resp.StatusCode/100 == 2) {
		if resp.StatusCode/100 == 2 {
			return fmt.Errorf("httpmq: unexpected answer (HTTP %d): %.200q", resp.StatusCode, raw)
		}
		return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(firstBytes(raw, 200))),
			RequestID: resp.Header.Get(RequestIDHeader)}
	}
	if !env.Success || resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, env.RequestID, env.Error)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("httpmq: decode answer: %w", err)
		}
	}
	return nil
}

func firstBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// call is newRequest plus do.
func (r *rest) call(ctx context.Context, method, path string, body, out any) error {
	req, err := r.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	return r.do(req, out)
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
