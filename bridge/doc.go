// Package bridge is httpmq's only door to NATS JetStream.
//
// Everything that talks to NATS lives here: the embedded server
// ([StartEmbedded]), the connection ([Connect] → [*Bridge]), stream and
// consumer management, publishing, acknowledgements and subscriptions.
// The REST API, the dataplane and the WebSocket sessions depend on the
// types of this package, never on nats.go.
//
// Start with [Connect] (or [StartEmbedded] then [Connect] with
// [Config.InProcess]). A [*Bridge] is safe for concurrent use. A
// [*Subscription] ([Bridge.Subscribe]) is the one implementation of
// credit-limited delivery that both the REST dataplane and the sessions use.
//
// The bridge keeps no state that another httpmq instance would need: an
// acknowledgement names a message by stream, consumer and sequences, and
// JetStream matches it no matter which instance delivered the message.
//
// Errors are sentinels ([ErrStreamNotFound], [ErrUnavailable], ...) wrapped
// with context; test them with errors.Is.
package bridge
