package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// AckKind says what an acknowledgement tells JetStream.
type AckKind int

// The acknowledgements JetStream understands.
const (
	// Ack: processed; never deliver again.
	Ack AckKind = iota
	// Nak: not processed; deliver again (after Delay, if set).
	Nak
	// Term: never deliver again, without processing.
	Term
	// InProgress: still working; restart the ack wait.
	InProgress
)

func (k AckKind) String() string {
	switch k {
	case Ack:
		return "ack"
	case Nak:
		return "nak"
	case Term:
		return "term"
	case InProgress:
		return "in_progress"
	}
	return "AckKind(" + strconv.Itoa(int(k)) + ")"
}

// AckRequest names a delivered message by its stream, consumer and the
// sequences it arrived with. Any httpmq instance can acknowledge any
// message: JetStream matches the ack by sequence, not by connection.
type AckRequest struct {
	Stream, Consumer string
	StreamSeq        uint64
	ConsumerSeq      uint64
	// Deliveries is the delivery count the message arrived with; it lets
	// JetStream pick the right back-off step on Nak. Optional.
	Deliveries uint64
	Kind       AckKind
	// Delay before redelivery, for Nak.
	Delay time.Duration
	// Reason recorded with Term.
	Reason string
}

// Ack acknowledges a message and waits for JetStream's confirmation. A
// message that was never delivered, or is no longer pending (already
// acknowledged, or redelivered under a newer consumer sequence), fails
// with [ErrNotPending].
func (b *Bridge) Ack(ctx context.Context, a AckRequest) error {
	subject, payload, err := a.wire()
	if err != nil {
		return err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ci, err := b.consumerInfo(ctx, a.Stream, a.Consumer)
	if err != nil {
		return err
	}
	switch {
	case a.StreamSeq > ci.Delivered.Stream || a.ConsumerSeq > ci.Delivered.Consumer:
		return fmt.Errorf("%w: stream sequence %d / consumer sequence %d was not delivered yet", ErrNotPending, a.StreamSeq, a.ConsumerSeq)
	case a.StreamSeq <= ci.AckFloor.Stream || a.ConsumerSeq <= ci.AckFloor.Consumer:
		return fmt.Errorf("%w: stream sequence %d is already acknowledged", ErrNotPending, a.StreamSeq)
	}
	if _, err := b.nc.RequestWithContext(ctx, subject, payload); err != nil {
		return classify(err)
	}
	return nil
}

// AckAsync sends an acknowledgement without waiting for confirmation.
func (b *Bridge) AckAsync(a AckRequest) error {
	subject, payload, err := a.wire()
	if err != nil {
		return err
	}
	return classify(b.nc.Publish(subject, payload))
}

// wire builds the ack's subject and body. The subject follows the v1
// reply format that every JetStream consumer subscribes to:
// $JS.ACK.<stream>.<consumer>.<deliveries>.<stream seq>.<consumer seq>.<ts>.<pending>;
// JetStream reads only the sequences and the delivery count from it.
func (a AckRequest) wire() (string, []byte, error) {
	if err := ValidateName(a.Stream); err != nil {
		return "", nil, err
	}
	if err := ValidateName(a.Consumer); err != nil {
		return "", nil, err
	}
	if a.StreamSeq == 0 || a.ConsumerSeq == 0 {
		return "", nil, fmt.Errorf("%w: stream and consumer sequences must be positive", ErrInvalidConfig)
	}
	dc := max(a.Deliveries, 1)
	subject := "$JS.ACK." + a.Stream + "." + a.Consumer + "." + strconv.FormatUint(dc, 10) + "." +
		strconv.FormatUint(a.StreamSeq, 10) + "." + strconv.FormatUint(a.ConsumerSeq, 10) + ".0.0"
	var payload []byte
	switch a.Kind {
	case Ack:
		payload = []byte("+ACK")
	case Nak:
		payload = []byte("-NAK")
		if a.Delay < 0 {
			return "", nil, fmt.Errorf("%w: nak delay must not be negative", ErrInvalidConfig)
		}
		if a.Delay > 0 {
			d, _ := json.Marshal(struct {
				Delay time.Duration `json:"delay"`
			}{a.Delay})
			payload = append(payload, ' ')
			payload = append(payload, d...)
		}
	case Term:
		payload = []byte("+TERM")
		if a.Reason != "" {
			payload = append(payload, ' ')
			payload = append(payload, a.Reason...)
		}
	case InProgress:
		payload = []byte("+WPI")
	default:
		return "", nil, fmt.Errorf("%w: unknown ack kind %d", ErrInvalidConfig, a.Kind)
	}
	return subject, payload, nil
}
