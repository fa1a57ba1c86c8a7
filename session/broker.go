package session

import (
	"context"

	"github.com/httpmq/httpmq/bridge"
)

// Broker is what clients need of JetStream. [*bridge.Bridge] implements
// it.
type Broker interface {
	Subscribe(ctx context.Context, o bridge.SubscribeOptions, r bridge.Receiver) (*bridge.Subscription, error)
	PublishAsync(m bridge.Message, done func(bridge.PubAck, error)) error
	Ack(ctx context.Context, a bridge.AckRequest) (bridge.AckResult, error)
	// TryAckNoWait answers a fire-and-forget ack without blocking when it
	// can, else reports false for Ack to do it.
	TryAckNoWait(a bridge.AckRequest) (bridge.AckResult, bool, error)
	Listen(ctx context.Context, o bridge.LiveOptions, r bridge.Receiver) (*bridge.LiveSubscription, error)
}

// source is what a client's subscription reads: a consumer
// ([*bridge.Subscription]) or a subject, live ([*bridge.LiveSubscription]).
type source interface {
	Close()
	Drain(ctx context.Context)
	InFlight() int
	SetPaused(paused bool)
}

var (
	_ source = (*bridge.Subscription)(nil)
	_ source = (*bridge.LiveSubscription)(nil)
)

var _ Broker = (*bridge.Bridge)(nil)
