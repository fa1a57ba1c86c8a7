package bridge

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// verdict is what is known of the delivery an ack names.
type verdict int

const (
	unknown          verdict = iota // no record here
	current                         // awaiting its ack: the ack will count
	pendingSomewhere                // pending (above the ack floor), holder unknown
	duplicate                       // this delivery already acked it so
	expiredWait                     // this delivery's ack wait elapsed, or it was nak'ed
	redelivered                     // the message went out again since
	resolved                        // acknowledged through another delivery, or otherwise
	neverDelivered                  // the consumer never delivered it
	exhausted                       // JetStream gave up on it: out of deliveries
)

var verdictNames = []string{"unknown", "current", "pending", "duplicate", "expired", "redelivered", "resolved", "undelivered", "exhausted"}

func (v verdict) String() string { return verdictNames[v] }

// judgement is a verdict with what backs it.
type judgement struct {
	v    verdict
	dseq uint64  // the delivery the record is about
	kind AckKind // the record's kind, for resolved and duplicate
	// alone: current, and no other delivery of the message can exist (its
	// first delivery, answered within half its ack wait), so no other
	// answer can race with this one.
	alone bool
}

// err is the error an ack with this judgement gets; nil when it may go
// to JetStream or is a duplicate.
func (j judgement) err(a AckRequest) error {
	at := fmt.Sprintf("stream sequence %d, consumer sequence %d", a.StreamSeq, a.ConsumerSeq)
	switch j.v {
	case expiredWait:
		if j.kind == Nak {
			return fmt.Errorf("%w: %s was nak'ed; JetStream delivers it again", ErrNotPending, at)
		}
		return fmt.Errorf("%w: %s: its ack wait elapsed; JetStream delivers it again", ErrNotPending, at)
	case redelivered:
		return fmt.Errorf("%w: %s was delivered again since, as consumer sequence %d; ack that delivery", ErrNotPending, at, j.dseq)
	case resolved:
		if j.dseq == 0 {
			return fmt.Errorf("%w: %s is at or below the consumer's ack floor: it was answered already", ErrNotPending, at)
		}
		if j.dseq == a.ConsumerSeq {
			return fmt.Errorf("%w: %s was already answered with %s", ErrNotPending, at, j.kind)
		}
		return fmt.Errorf("%w: %s was already answered (%s) through consumer sequence %d", ErrNotPending, at, j.kind, j.dseq)
	case neverDelivered:
		return fmt.Errorf("%w: %s was never delivered", ErrNotPending, at)
	case exhausted:
		return fmt.Errorf("%w: %s ran out of deliveries (the consumer's max_deliver); JetStream will not deliver it again", ErrNotPending, at)
	}
	return nil
}

// judge tells what the watch knows of the delivery a names.
func (w *consumerWatch) judge(a AckRequest) judgement {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	// A held delivery has no final record: the record that ends a message
	// releases its holding, and JetStream does not deliver it again.
	if h := w.held[a.StreamSeq]; h != nil {
		switch {
		case h.dseq == a.ConsumerSeq && now.Before(h.deadline):
			quiet := h.deadline.Add(-expiryMargin(h.wait) - h.wait/2)
			return judgement{v: current, dseq: h.dseq, alone: h.dc == 1 && now.Before(quiet)}
		case h.dseq == a.ConsumerSeq:
			return judgement{v: expiredWait, dseq: h.dseq}
		case h.dseq > a.ConsumerSeq:
			return judgement{v: redelivered, dseq: h.dseq}
		}
		return judgement{} // a delivery newer than ours: ask elsewhere
	}
	r, ok := w.log.get(a.StreamSeq)
	switch {
	case !ok:
		return judgement{}
	case r.final:
		return r.decides(a)
	}
	switch r.kind {
	case Nak, expired:
		switch {
		case r.dseq == a.ConsumerSeq && r.kind == Nak && a.Kind == Nak:
			return judgement{v: duplicate, dseq: r.dseq, kind: Nak}
		case r.dseq == a.ConsumerSeq:
			return judgement{v: expiredWait, dseq: r.dseq, kind: r.kind}
		case r.dseq > a.ConsumerSeq:
			return judgement{v: redelivered, dseq: r.dseq}
		}
	}
	return judgement{} // the record is of an older delivery than a's
}

// decides is the judgement of an answer a that comes after the final
// record r of its message: the same answer again is a duplicate; any
// other did not count.
func (r ackRecord) decides(a AckRequest) judgement {
	switch {
	case r.kind == exhaustedKind:
		return judgement{v: exhausted}
	case r.dseq == a.ConsumerSeq && r.kind == a.Kind:
		return judgement{v: duplicate, dseq: r.dseq, kind: r.kind}
	}
	return judgement{v: resolved, dseq: r.dseq, kind: r.kind}
}

// ackQueryWait bounds how long an instance waits for another one to
// tell what it knows of a delivery.
const ackQueryWait = 250 * time.Millisecond

// ackQuerySubject is where the instances watching a consumer answer
// questions about its deliveries.
func ackQuerySubject(k consumerKey) string {
	return "_httpmq.ack." + k.stream + "." + k.consumer
}

// answer replies to another instance's question about a delivery, when
// this instance knows something of it; otherwise it stays silent.
func (w *consumerWatch) answer(m *nats.Msg) {
	f := strings.Fields(string(m.Data))
	if len(f) != 3 || m.Reply == "" {
		return
	}
	sseq, err1 := strconv.ParseUint(f[0], 10, 64)
	dseq, err2 := strconv.ParseUint(f[1], 10, 64)
	kind, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	j := w.judge(AckRequest{StreamSeq: sseq, ConsumerSeq: dseq, Kind: AckKind(kind)})
	if j.v == unknown {
		return
	}
	_ = w.b.nc.Publish(m.Reply, []byte(fmt.Sprintf("%d %d %d", j.v, j.dseq, j.kind))) // the asker falls back on silence
}

// ask asks the other instances watching a's consumer what they know of
// its delivery; silence (or no instance watching) is unknown.
func (b *Bridge) ask(ctx context.Context, a AckRequest) judgement {
	ctx, cancel := context.WithTimeout(ctx, ackQueryWait)
	defer cancel()
	q := fmt.Sprintf("%d %d %d", a.StreamSeq, a.ConsumerSeq, a.Kind)
	m, err := b.nc.RequestWithContext(ctx, ackQuerySubject(consumerKey{a.Stream, a.Consumer}), []byte(q))
	if err != nil {
		return judgement{}
	}
	f := strings.Fields(string(m.Data))
	if len(f) != 3 {
		return judgement{}
	}
	v, err1 := strconv.Atoi(f[0])
	dseq, err2 := strconv.ParseUint(f[1], 10, 64)
	kind, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || v <= 0 || v >= len(verdictNames) {
		return judgement{}
	}
	return judgement{v: verdict(v), dseq: dseq, kind: AckKind(kind)}
}

// judgeByInfo decides from the consumer's state when no instance
// remembers the delivery: beyond what was delivered is never delivered;
// at or below the ack floor it is answered already (by whom, nobody
// remembers); in between it is pending with someone.
func (b *Bridge) judgeByInfo(ctx context.Context, a AckRequest) (judgement, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ci, err := b.consumerInfo(ctx, a.Stream, a.Consumer)
	if err != nil {
		return judgement{}, err
	}
	switch {
	case a.StreamSeq > ci.Delivered.Stream || a.ConsumerSeq > ci.Delivered.Consumer:
		return judgement{v: neverDelivered}, nil
	case a.StreamSeq <= ci.AckFloor.Stream:
		return judgement{v: resolved, kind: Ack}, nil
	}
	return judgement{v: pendingSomewhere}, nil
}
