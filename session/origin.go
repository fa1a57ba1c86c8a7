package session

import (
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// checkOrigin decides whether the web page that opens a session (its
// Origin header) may: its host is the request's own, or matches one of
// patterns, or (with loopback) is a loopback host on any port. Clients
// that send no Origin (anything but a browser) pass. The matching is
// coder/websocket's (AcceptOptions.OriginPatterns): path.Match,
// case-insensitive, on the origin's host:port, or on scheme://host:port
// for a pattern with "://". It is done here rather than by Accept so
// that a refusal gets the JSON error envelope.
func checkOrigin(r *http.Request, patterns []string, loopback bool) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return httpx.NewError(protocol.CodeForbidden, "origin not allowed",
			"the page's Origin "+origin+" has no host (a file, a sandboxed frame): serve it over http(s) from this server or from an origin allowed with --allowed-origin")
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	if loopback && (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(u.Hostname()) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return nil
		}
	}
	return httpx.NewError(protocol.CodeForbidden, "origin not allowed",
		"pages from "+origin+" may not open sessions on "+r.Host+"; the server's operator can allow them with --allowed-origin "+u.Host)
}

// ValidOriginPattern reports whether p is a pattern [Options.OriginPatterns]
// can hold (path.Match syntax).
func ValidOriginPattern(p string) bool {
	_, err := path.Match(p, "")
	return err == nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
