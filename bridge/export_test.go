package bridge

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// CreateJetStreamPushConsumer makes a JetStream push consumer, as tools
// other than httpmq do, for the tests of how httpmq reads those.
func (b *Bridge) CreateJetStreamPushConsumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) error {
	_, err := b.js.CreateOrUpdatePushConsumer(ctx, stream, cfg)
	return err
}
