// Package httpmq is the Go client of httpmq, the HTTP/2 and WebSocket
// bridge to NATS JetStream. It does not import NATS: it speaks httpmq's
// REST APIs and its session protocol (package protocol).
//
// Three clients, one per API:
//
//   - [Dial] opens a [*Session]: one WebSocket (HTTP/1.1, or HTTP/2
//     extended CONNECT, JSON or msgpack frames) carrying many subscriptions,
//     publishes and acknowledgements at once. It reconnects by itself and
//     restores its subscriptions. This is the client for long-lived
//     services.
//   - [NewDataClient] returns a [*DataClient] for the REST dataplane:
//     publish, push-subscribe (a long-lived HTTP response), acknowledge.
//   - [NewAdminClient] returns an [*AdminClient] for the management API:
//     streams, consumers, stored messages.
//
// Both kinds of subscription are a [*Subscription]: read it with
// [Subscription.Next] or range over [Subscription.Messages]; every
// [*Message] is acknowledged with Ack, Nak, Term or InProgress, from any
// goroutine.
//
// With authentication on, give the clients a [TokenFunc]
// ([SessionOptions.Token], [ClientOptions.Token]): REST requests and
// session handshakes carry its token, and a session sends a fresh one in
// an auth frame before a JWT expires, so it outlives its tokens.
//
// Failures the server reports are [*APIError] values carrying the HTTP
// status, the stable reason code (protocol.Code*), message and request id:
// use errors.As. Sentinels
// ([ErrClosed], [ErrConnectionLost], [ErrUnsubscribed]) say what happened
// on the client's side.
//
// Delivery is at least once: a message not acknowledged within the
// consumer's ack wait (because the process died, or the connection
// dropped) comes again, with the same StreamSeq and a higher
// ConsumerSeq.
package httpmq
