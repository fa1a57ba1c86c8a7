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
}

var _ Broker = (*bridge.Bridge)(nil)
