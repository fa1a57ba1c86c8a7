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

// AckUnjudged sends a's ack as though this instance had judged that its
// delivery awaits it, as a stale judgement would (a delivery answered
// while JetStream delivers its message again elsewhere): what it returns
// comes from JetStream's confirmations alone.
func (b *Bridge) AckUnjudged(ctx context.Context, a AckRequest) (AckResult, error) {
	subject, payload, err := a.wire()
	if err != nil {
		return AckResult{}, err
	}
	key := consumerKey{a.Stream, a.Consumer}
	return b.answer(ctx, a, key, b.lookup(key), judgement{v: current}, subject, payload)
}
