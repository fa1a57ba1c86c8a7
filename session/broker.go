package session

import (
	"context"

	"github.com/httpmq/httpmq/bridge"
)

// Broker is what a session needs of JetStream. [*bridge.Bridge]
// implements it.
type Broker interface {
	Subscribe(ctx context.Context, o bridge.SubscribeOptions) (*bridge.Subscription, error)
	PublishAsync(m bridge.Message, done func(bridge.PubAck, error)) error
	Ack(ctx context.Context, a bridge.AckRequest) error
	AckAsync(a bridge.AckRequest) error
}

var _ Broker = (*bridge.Bridge)(nil)
