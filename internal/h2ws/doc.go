// Package h2ws carries WebSockets over HTTP/2 streams (RFC 8441 extended
// CONNECT) for github.com/coder/websocket, which speaks only HTTP/1.1
// Upgrade.
//
// Server side, [Accept] takes either handshake: an HTTP/1.1 GET with
// Upgrade goes straight to websocket.Accept; an HTTP/2 CONNECT with
// :protocol websocket is presented to websocket.Accept as a GET whose
// 101 answer becomes 200 and whose hijacked connection is the h2 stream.
// Register the route for both GET and CONNECT: once a server advertises
// extended CONNECT, Chromium uses it for every WebSocket on that origin.
//
// Client side, [Transport] is an http.RoundTripper for
// websocket.DialOptions.HTTPClient that turns Dial's GET into an
// extended CONNECT over golang.org/x/net/http2, over TLS or h2c.
//
// The server needs extended CONNECT switched on: a program that serves
// WebSockets over HTTP/2 imports internal/xconnect (package session
// does). Clients need nothing of the kind, so this package does not
// import it.
package h2ws
