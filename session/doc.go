// Package session serves httpmq's WebSocket sessions: one WebSocket per
// client that multiplexes many subscriptions, publishes and inline acks,
// framed as JSON or msgpack (package protocol).
//
// Start with [New], which returns a [*Handler] to mount on the dataplane
// listener for both GET (HTTP/1.1 Upgrade) and CONNECT (HTTP/2 extended
// CONNECT, RFC 8441). Each accepted WebSocket becomes a session that
// lives until the client leaves, breaks a rule, falls too far behind, or
// the server shuts down ([Handler.Shutdown] closes every session with
// 1001 going away, so clients reconnect elsewhere).
//
// A session keeps nothing another httpmq instance would need: deliveries
// carry stream, consumer and sequences, and an ack for them works through
// any instance, on any session or over REST.
//
// Flow control: each subscription has at most max_inflight
// unacknowledged deliveries; frames to the client pass through a bounded
// queue; a session whose queue stays full for [Options.SlowConsumerTimeout]
// is closed with 4000 slow_consumer, and JetStream redelivers what it
// held after the ack wait. Memory per session is therefore bounded, and
// one slow client never slows another.
package session
