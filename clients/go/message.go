package httpmq

import (
	"context"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// Header holds message headers: a name maps to one or more values, and
// names keep their case. Get returns the first value of a name.
type Header = protocol.Header

// PubAck is JetStream's answer to a publish.
type PubAck struct {
	// Stream stored the message at Sequence.
	Stream   string
	Sequence uint64
	// Duplicate is true when a message with the same id was already
	// stored; Sequence is then the original's.
	Duplicate bool
}

// PublishOptions are the optional parts of a publish. nil is fine.
type PublishOptions struct {
	// MsgID de-duplicates: JetStream stores a message only once per id
	// within the stream's duplicate window.
	MsgID string
	// Header is published with the message. Names starting with "Nats-"
	// are JetStream's and refused.
	Header Header
	// Base64 sends a REST publish body base64-encoded instead of raw
	// ([DataClient] only; the payload stored is the same).
	Base64 bool
}

// AckKind is the kind of acknowledgement.
type AckKind string

// Acknowledgement kinds.
const (
	KindAck        AckKind = "ack"      // done: do not redeliver
	KindNak        AckKind = "nak"      // failed: redeliver (after Delay)
	KindTerm       AckKind = "term"     // failed for good: never redeliver
	KindInProgress AckKind = "progress" // still working: restart the ack wait
)

// AckRequest names a delivered message by stream, consumer and sequences,
// so that any client of any httpmq instance can acknowledge it; see
// [DataClient.Ack] and [Session.Ack]. [Message] builds it for you.
type AckRequest struct {
	Stream, Consumer string
	StreamSeq        uint64
	ConsumerSeq      uint64
	Deliveries       uint64
	Kind             AckKind // default KindAck
	Delay            time.Duration
	Reason           string
}

// acker acknowledges messages for the client that received them.
type acker interface {
	ack(ctx context.Context, r AckRequest) error
	ackNoWait(r AckRequest) error
}

// Message is one delivery of a consumer. Its acknowledgement methods may
// be called from any goroutine; each waits until the server confirms and
// fails with an *[APIError] of code ack_not_pending when the message was
// no longer awaiting acknowledgement (already acked, or its ack wait
// expired and it will come again).
type Message struct {
	// Subject the message was published to.
	Subject  string
	Stream   string
	Consumer string
	// StreamSeq is the message's sequence in its stream; ConsumerSeq the
	// consumer's delivery sequence (higher on each redelivery).
	StreamSeq   uint64
	ConsumerSeq uint64
	// Deliveries counts deliveries of this message, this one included.
	Deliveries uint64
	// Pending is how many messages the consumer held after this one.
	Pending uint64
	// Time the stream stored the message.
	Time   time.Time
	Header Header
	Data   []byte

	acker acker
}

func (m *Message) request(kind AckKind) AckRequest {
	return AckRequest{Stream: m.Stream, Consumer: m.Consumer, StreamSeq: m.StreamSeq,
		ConsumerSeq: m.ConsumerSeq, Deliveries: m.Deliveries, Kind: kind}
}

// Ack acknowledges the message: JetStream will not deliver it again.
func (m *Message) Ack(ctx context.Context) error { return m.acker.ack(ctx, m.request(KindAck)) }

// Nak asks for redelivery after delay (0: at once, or per the consumer's
// back-off).
func (m *Message) Nak(ctx context.Context, delay time.Duration) error {
	r := m.request(KindNak)
	r.Delay = delay
	return m.acker.ack(ctx, r)
}

// Term stops redelivery for good; reason is recorded by JetStream.
func (m *Message) Term(ctx context.Context, reason string) error {
	r := m.request(KindTerm)
	r.Reason = reason
	return m.acker.ack(ctx, r)
}

// InProgress restarts the message's ack wait: still working on it.
func (m *Message) InProgress(ctx context.Context) error {
	return m.acker.ack(ctx, m.request(KindInProgress))
}

// AckNoWait acknowledges the message without waiting for a confirmation:
// on a session it only sends the ack (a failure is reported later as an
// [EventServerError]); it fails with [ErrConnectionLost] while the session
// is reconnecting. On the REST dataplane, which confirms every ack, it is
// Ack bounded by 10 seconds. Use it where throughput matters more than
// knowing: an ack that is lost means a redelivery after the ack wait.
func (m *Message) AckNoWait() error { return m.acker.ackNoWait(m.request(KindAck)) }
