// Package h2ws accepts WebSockets over HTTP/2 streams (RFC 8441 extended
// CONNECT) for github.com/coder/websocket, which speaks only HTTP/1.1
// Upgrade.
//
// [Accept] takes either handshake: an HTTP/1.1 GET with Upgrade goes
// straight to websocket.Accept; an HTTP/2 CONNECT with :protocol
// websocket is presented to websocket.Accept as a GET whose 101 answer
// becomes 200 and whose hijacked connection is the h2 stream. Register
// the route for both GET and CONNECT: once a server advertises extended
// CONNECT, Chromium uses it for every WebSocket on that origin.
//
// Over HTTP/1.1 (and TCP) [AcceptIdle] also returns the connection's
// [Idle], with which the goroutine that reads it waits for the peer near
// the top of its stack, so that an idle connection's stack can shrink.
//
// The client side, a dialer for extended CONNECT, is public in the Go
// SDK's module: github.com/httpmq/httpmq/clients/go/h2ws.
//
// The server needs extended CONNECT switched on: a program that serves
// WebSockets over HTTP/2 imports internal/xconnect (package session
// does).
package h2ws
