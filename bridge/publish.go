package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream's refusals of a publish that are the client's to fix.
var (
	// ErrPreconditionFailed: a Nats-Expected-* condition of the publish
	// does not hold (another last sequence, another stream).
	ErrPreconditionFailed = errors.New("publish precondition failed")
	// ErrPublishRefused: the stream's configuration refuses the message
	// (sealed, roll-ups or per-message TTLs not allowed...).
	ErrPublishRefused = errors.New("the stream refuses this message")
)

// Message is something to publish.
type Message struct {
	Subject string
	Data    []byte
	// Header becomes NATS message headers. Of JetStream's Nats-* headers
	// only [ConditionalHeaders] are accepted (see [ReservedHeader]).
	Header map[string][]string
	// MsgID de-duplicates within the stream's duplicate window.
	MsgID string
}

// PubAck is JetStream's confirmation that a message is stored.
type PubAck struct {
	Stream    string
	Sequence  uint64
	Duplicate bool
}

// PublishAsync publishes m without waiting: done is called exactly once,
// with JetStream's ack or the error, within the request timeout (or
// when the connection to NATS is lost, or the bridge closes). It is
// called on the goroutine that reads acks, so it must not block.
// PublishAsync itself fails at once (and done is not called) for an
// invalid message, or when too many publishes await their ack.
func (b *Bridge) PublishAsync(m Message, done func(PubAck, error)) error {
	msg, err := b.natsMsg(m)
	if err != nil {
		return err
	}
	return b.acks.publish(msg, done)
}

// asyncFailed completes a PublishAsync call that failed.
func (b *Bridge) asyncFailed(subject string, err error, done func(PubAck, error)) {
	err = classify(err)
	if !errors.Is(err, ErrNoStreamForSubject) {
		done(PubAck{}, err)
		return
	}
	// Telling why takes a request: not on the ack handler's goroutine.
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		done(PubAck{}, b.publishFailed(context.Background(), subject, err))
	}()
}

// publishFailed classifies a failed publish. "No responders" means
// either that no stream captures the subject, or that the stream that
// does has no leader right now (an election, a restart): the first is
// the client's mistake, the second is worth retrying. Ask which.
func (b *Bridge) publishFailed(ctx context.Context, subject string, err error) error {
	err = classify(err)
	if !errors.Is(err, ErrNoStreamForSubject) {
		return err
	}
	ctx, cancel := b.ctx(context.WithoutCancel(ctx))
	defer cancel()
	names := b.js.StreamNames(ctx, jetstream.WithStreamListSubject(subject))
	found := false
	for range names.Name() {
		found = true
	}
	switch {
	case names.Err() != nil:
		return fmt.Errorf("%w: no answer to a publish to %s: %w", ErrUnavailable, subject, names.Err())
	case found:
		return fmt.Errorf("%w: the stream capturing %s did not answer (leader election?)", ErrUnavailable, subject)
	}
	return err
}

// natsMsg validates m and builds what nats.go publishes: no reserved
// subject ([ErrReservedSubject]), no reserved header ([ErrReservedHeader]).
func (b *Bridge) natsMsg(m Message) (*nats.Msg, error) {
	if err := ValidatePublishSubject(m.Subject); err != nil {
		return nil, err
	}
	header, err := natsHeader(m.Header)
	if err != nil {
		return nil, err
	}
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data}
	if len(header) > 0 {
		msg.Header = nats.Header(header)
	}
	if m.MsgID != "" {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		msg.Header.Set(jetstream.MsgIDHeader, m.MsgID)
	}
	if size := int64(len(m.Data) + headerSize(header) + len(m.MsgID)); size > b.nc.MaxPayload() {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, size, b.nc.MaxPayload())
	}
	return msg, nil
}

// Publish stores m in the stream that captures its subject and returns
// once JetStream confirmed it, or fails within the request timeout. A
// subject no stream captures fails with [ErrNoStreamForSubject], a
// reserved one with [ErrReservedSubject]; a Nats-Expected-* condition that
// does not hold with [ErrPreconditionFailed].
func (b *Bridge) Publish(ctx context.Context, m Message) (PubAck, error) {
	msg, err := b.natsMsg(m)
	if err != nil {
		return PubAck{}, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ack, err := b.js.PublishMsg(ctx, msg)
	if err != nil {
		return PubAck{}, b.publishFailed(ctx, m.Subject, err)
	}
	return PubAck{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

func headerSize(h map[string][]string) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
