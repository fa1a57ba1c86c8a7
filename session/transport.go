package session

import (
	"context"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// Transport carries one client's traffic out: a WebSocket (this
// package's sessions) or a REST subscription response (package
// dataplane). The [Client] machinery behind it is the same: credit,
// the slow-client policy, keep-alive, credential expiry and shutdown.
//
// A Client calls Encode from any goroutine, and Write, KeepAlive and
// Close from its writer only, one at a time (the writer is a goroutine
// that runs while there is work, not always the same one).
type Transport interface {
	// Encode returns the bytes that carry f, or nil when the transport
	// has no use for frames of f's type (a REST stream shows only
	// deliveries and a final error). It fails only for a frame that
	// cannot be encoded.
	Encode(f *protocol.Frame) ([]byte, error)
	// Write sends frames encoded by Encode, in order, as one write where
	// the transport can, and flushes them; it gives up when ctx ends.
	Write(ctx context.Context, frames [][]byte) error
	// KeepAlive runs every keep-alive interval; idle is how long nothing
	// was written. It proves the peer alive or the connection open (a
	// WebSocket ping, a heartbeat line when idle); an error ends the
	// client with the returned Disconnect.
	KeepAlive(ctx context.Context, idle time.Duration) *Disconnect
	// Close ends the transport, telling the peer why where it can. It
	// is called once, last, from the writer.
	Close(d Disconnect)
}

// Disconnect is why the server ends a client: a WebSocket close code,
// and, for transports that report errors in-band (a REST stream's final
// line), the error.
type Disconnect struct {
	Close  protocol.CloseCode
	Reason string          // short, for the WebSocket close reason
	Err    *protocol.Error // nil when the client simply leaves
}

// Disconnects the core uses.
var (
	disconnectNormal   = Disconnect{Close: protocol.CloseNormal}
	disconnectShutdown = Disconnect{Close: protocol.CloseGoingAway, Reason: "server shutting down",
		Err: protocol.NewError(protocol.CodeShuttingDown, "the server is shutting down")}
	disconnectExpired = Disconnect{Close: protocol.CloseAuthExpired, Reason: "credentials expired; reconnect with fresh ones",
		Err: protocol.NewError(protocol.CodeUnauthorized, "credentials expired")}
)

func slowConsumer(why string) Disconnect {
	return Disconnect{Close: protocol.CloseSlowConsumer, Reason: why}
}
