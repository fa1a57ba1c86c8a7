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
	case expired:
		return "expired"
	case exhaustedKind:
		return "exhausted"
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
	// NoConfirm sends an answer this instance knows will count without
	// waiting for JetStream's confirmation (fire-and-forget acks).
	NoConfirm bool
}

// AckResult says what an acknowledgement did.
type AckResult struct {
	// Duplicate: this same delivery had already been answered so (a
	// retry); JetStream's state did not change.
	Duplicate bool
}

// Ack answers a delivery. It succeeds only when JetStream recorded the
// answer (Duplicate when this same delivery had already given it); an
// answer that would not count fails with [ErrNotPending], saying why:
// never delivered, delivered again since, its ack wait elapsed, or
// answered already through another delivery. Nothing that fails was sent
// to JetStream.
//
// The delivery is judged from what this instance knows (the deliveries
// it handed out and the acks it saw), else from what another instance
// watching the consumer answers, else from the consumer's state. With
// a.NoConfirm, a delivery known to await this ack is answered without
// waiting for JetStream's confirmation.
func (b *Bridge) Ack(ctx context.Context, a AckRequest) (AckResult, error) {
	subject, payload, err := a.wire()
	if err != nil {
		return AckResult{}, err
	}
	key := consumerKey{a.Stream, a.Consumer}
	var j judgement
	w := b.lookup(key)
	if w != nil {
		j = w.judge(a)
	}
	if j.v == unknown {
		j = b.ask(ctx, a)
	}
	if j.v == unknown {
		if j, err = b.judgeByInfo(ctx, a); err != nil {
			return AckResult{}, err
		}
	}
	return b.answer(ctx, a, key, w, j, subject, payload)
}

// TryAckNoWait answers a.NoConfirm acks that this instance can judge on
// its own, without blocking: the delivery is one it handed out (or an
// ack it saw), so the verdict needs no question to JetStream or to
// another instance, and the ack is published without waiting for a
// confirmation. It reports false, having done nothing, when the ack
// needs [Bridge.Ack] (which may block) instead. Callers on a hot path
// (a session's read loop) use it to spare a goroutine per ack.
func (b *Bridge) TryAckNoWait(a AckRequest) (AckResult, bool, error) {
	if !a.NoConfirm {
		return AckResult{}, false, nil
	}
	key := consumerKey{a.Stream, a.Consumer}
	w := b.lookup(key)
	if w == nil {
		return AckResult{}, false, nil
	}
	subject, payload, err := a.wire()
	if err != nil {
		return AckResult{}, true, err
	}
	j := w.judge(a)
	if j.v == unknown || j.v == pendingSomewhere {
		return AckResult{}, false, nil
	}
	res, err := b.answer(context.Background(), a, key, w, j, subject, payload)
	return res, true, err
}

// answer completes an ack judged j: refused, a duplicate, or sent to
// JetStream and settled by its confirmation (see confirm.go). A.NoConfirm
// acks of current deliveries do not await it, and need none when no
// other answer can race with theirs (their first record is then the ack
// itself, seen on the ack subject).
func (b *Bridge) answer(ctx context.Context, a AckRequest, key consumerKey, w *consumerWatch, j judgement, subject string, payload []byte) (AckResult, error) {
	switch j.v {
	case duplicate:
		return AckResult{Duplicate: true}, nil
	case current, pendingSomewhere:
	default:
		return AckResult{}, j.err(a)
	}
	if w != nil && j.v == current {
		if reply := w.replyOf(a); reply != "" {
			subject = reply // the subject JetStream gave, whatever its format
		}
	}
	// The watch receives the confirmation (and an ack through this
	// instance renews its grace period).
	var err error
	if w == nil || !w.touch() {
		if w, err = b.watch(key, nil); err != nil {
			return AckResult{}, err
		}
	}
	wait := !a.NoConfirm || j.v != current
	if j, err = w.send(ctx, a, subject, payload, wait, wait || !j.alone); err != nil {
		return AckResult{}, err
	}
	switch j.v {
	case current:
		return AckResult{}, nil
	case duplicate:
		return AckResult{Duplicate: true}, nil
	}
	return AckResult{}, j.err(a)
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
