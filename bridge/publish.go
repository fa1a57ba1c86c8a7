package bridge

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message is something to publish.
type Message struct {
	Subject string
	Data    []byte
	// Header becomes NATS message headers.
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

// Publish stores m in the stream that captures its subject and returns
// once JetStream confirmed it, or fails within the request timeout. A
// subject no stream captures fails with [ErrNoStreamForSubject].
func (b *Bridge) Publish(ctx context.Context, m Message) (PubAck, error) {
	if err := ValidateSubject(m.Subject, false); err != nil {
		return PubAck{}, err
	}
	msg := &nats.Msg{Subject: m.Subject, Data: m.Data}
	if len(m.Header) > 0 {
		msg.Header = nats.Header(m.Header)
	}
	if size := int64(len(m.Data) + headerSize(m.Header) + len(m.MsgID)); size > b.nc.MaxPayload() {
		return PubAck{}, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, size, b.nc.MaxPayload())
	}
	var opts []jetstream.PublishOpt
	if m.MsgID != "" {
		opts = append(opts, jetstream.WithMsgID(m.MsgID))
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ack, err := b.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return PubAck{}, classify(err)
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
