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

// MissAcks makes the watch of stream/consumer deaf to acks, as if the
// dispatch queue had dropped them, and returns a function that reports
// the loss the way nats.go does.
func (b *Bridge) MissAcks(stream, consumer string) (report func()) {
	w := b.lookup(consumerKey{stream, consumer})
	acks := w.subs[:2] // both ack subject formats
	for _, s := range acks {
		b.d.forget(s)
	}
	return func() { b.dropped(acks[0]) }
}
