// Package h2ws dials WebSockets over HTTP/2 streams (RFC 8441 extended
// CONNECT) with github.com/coder/websocket, which speaks only HTTP/1.1
// Upgrade.
//
// [Transport] is an http.RoundTripper for websocket.DialOptions.HTTPClient
// that turns Dial's GET into an extended CONNECT over
// golang.org/x/net/http2, over TLS or h2c (cleartext, prior knowledge);
// other requests go out as ordinary HTTP/2 requests. The httpmq Go SDK
// uses it for sessions; any program may use it to reach an httpmq server
// (or another RFC 8441 server) over HTTP/2.
//
// The server side (accepting such handshakes) is not here: httpmq keeps
// it in its own module.
package h2ws
