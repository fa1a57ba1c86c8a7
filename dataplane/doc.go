// Package dataplane serves httpmq's REST dataplane under /v1/data/: publish
// to a subject, push-subscribe to a consumer as a long-lived stream of
// messages (NDJSON, or Server-Sent Events), and acknowledge what was
// received. It is the original httpmq's dataplane API group, compatible
// with its routes and JSON, without its flaws.
//
// Start with [New], which returns a [*Handler] (an http.Handler) to mount
// on the dataplane listener; call [Handler.Shutdown] when the server stops,
// because http.Server.Shutdown alone waits for, but never ends,
// subscription streams.
//
// The package owns only HTTP concerns: routes, query and header parsing,
// body encodings, the stream formats and heartbeats. JetStream work goes
// through package bridge ([Bridge] is the part of it used here), errors
// become answers through internal/httpx, and every action is authorized
// by the auth gate. docs/dataplane.md describes the API for clients.
//
// Nothing here is tied to one instance: an ack names a message by stream,
// consumer and sequences, so it may be sent to any httpmq instance, not
// only the one holding the subscription.
package dataplane
