package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// Which answer counted.
//
// JetStream matches an ack by stream sequence, whatever delivery it
// names, and confirms every ack it is sent, whether it counted or not: when
// two deliveries of one message are answered at nearly the same time
// (through two instances, or an old delivery whose ack wait JetStream
// thought over while the bridge did not), both acks are confirmed though
// only the first one did anything. The bridge cannot judge that before
// sending; it learns it after, from the order of the confirmations.
//
// JetStream processes a consumer's acks one at a time, and sends their
// confirmations (and its advisories) in that order through its stream's
// single outbound queue: every subscriber sees them in the same order.
// So every ack httpmq sends carries a reply subject that says what it
// answers,
//
//	_httpmq.acked.<stream>.<consumer>.<stream seq>.<consumer seq>.<kind>.<instance>.<id>
//
// and every instance watching the consumer subscribes to them: the first
// confirmed ack or term of a message is the answer that counted, at every
// instance alike, and any later answer did not ([ackRecord.decides]).
// JetStream's advisory that a message ran out of deliveries comes in the
// same order and ends the message too.

// confirmPrefix starts the reply subject of every ack httpmq sends.
const confirmPrefix = "_httpmq.acked."

// confirmSubjects is the prefix of the confirmations of k's acks.
func confirmSubjects(k consumerKey) string {
	return confirmPrefix + k.stream + "." + k.consumer + "."
}

// confirmReply is the reply subject of a's ack, sent by this instance
// with id.
func (w *consumerWatch) confirmReply(a AckRequest, id uint64) string {
	buf := make([]byte, 0, 96)
	buf = append(buf, w.confirms...)
	buf = strconv.AppendUint(buf, a.StreamSeq, 10)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, a.ConsumerSeq, 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(a.Kind), 10)
	buf = append(buf, '.')
	buf = append(buf, w.b.id...)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, id, 10)
	return string(buf)
}

// confirmation is what a confirmation's subject says.
type confirmation struct {
	seq, dseq uint64
	kind      AckKind
	instance  string
	id        uint64
}

// parseConfirmation reads the tokens after confirmSubjects.
func parseConfirmation(rest string) (confirmation, bool) {
	tok := strings.Split(rest, ".")
	if len(tok) != 5 {
		return confirmation{}, false
	}
	seq, err1 := strconv.ParseUint(tok[0], 10, 64)
	dseq, err2 := strconv.ParseUint(tok[1], 10, 64)
	kind, err3 := strconv.Atoi(tok[2])
	id, err4 := strconv.ParseUint(tok[4], 10, 64)
	if errors.Join(err1, err2, err3, err4) != nil || AckKind(kind) < Ack || AckKind(kind) > InProgress {
		return confirmation{}, false
	}
	return confirmation{seq: seq, dseq: dseq, kind: AckKind(kind), instance: tok[3], id: id}, true
}

// confirmed handles JetStream's confirmation of an ack sent through any
// instance: in JetStream's order, it settles whether the ack counted,
// and answers this instance's ack awaiting it.
func (w *consumerWatch) confirmed(m *nats.Msg) {
	if !strings.HasPrefix(m.Subject, w.confirms) {
		return
	}
	c, ok := parseConfirmation(m.Subject[len(w.confirms):])
	if !ok {
		return
	}
	a := AckRequest{StreamSeq: c.seq, ConsumerSeq: c.dseq, Kind: c.kind}
	var freed *Subscription
	w.mu.Lock()
	j := judgement{v: current}
	switch r, ok := w.log.get(c.seq); {
	case ok && r.final:
		j = r.decides(a)
	case c.kind == Ack || c.kind == Term:
		w.log.add(c.seq, ackRecord{dseq: c.dseq, kind: c.kind, final: true})
		freed = w.release(c.seq, c.kind)
	case c.kind == Nak:
		w.log.add(c.seq, ackRecord{dseq: c.dseq, kind: c.kind})
		freed = w.release(c.seq, c.kind)
	}
	var waiter chan judgement
	if c.instance == w.b.id {
		waiter = w.waiting[c.id]
		delete(w.waiting, c.id)
	}
	w.mu.Unlock()
	if freed != nil {
		freed.released(1)
	}
	if waiter != nil {
		waiter <- j // buffered
	}
}

// exhausted handles JetStream's advisory that a message ran out of
// deliveries: JetStream no longer awaits an answer for it.
func (w *consumerWatch) exhausted(m *nats.Msg) {
	var e struct {
		StreamSeq uint64 `json:"stream_seq"`
	}
	if json.Unmarshal(m.Data, &e) != nil || e.StreamSeq == 0 {
		return
	}
	w.mu.Lock()
	w.log.add(e.StreamSeq, ackRecord{kind: exhaustedKind, final: true})
	freed := w.release(e.StreamSeq, Term)
	w.mu.Unlock()
	if freed != nil {
		freed.released(1)
	}
}

// send sends a's ack (subject, payload), with its confirmation's reply
// subject when confirm is set. With wait, it waits for the confirmation
// and returns what it settled: current when the ack counted.
func (w *consumerWatch) send(ctx context.Context, a AckRequest, subject string, payload []byte, wait, confirm bool) (judgement, error) {
	if !confirm {
		return judgement{v: current}, classify(w.b.nc.Publish(subject, payload))
	}
	id := w.b.ackIDs.Add(1)
	msg := &nats.Msg{Subject: subject, Reply: w.confirmReply(a, id), Data: payload}
	if !wait {
		return judgement{v: current}, classify(w.b.nc.PublishMsg(msg))
	}
	ch := make(chan judgement, 1)
	w.mu.Lock()
	w.waiting[id] = ch
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		delete(w.waiting, id)
		w.mu.Unlock()
	}
	if err := w.b.nc.PublishMsg(msg); err != nil {
		forget()
		return judgement{}, classify(err)
	}
	ctx, cancel := w.b.ctx(ctx)
	defer cancel()
	select {
	case j := <-ch:
		return j, nil
	case <-ctx.Done():
		forget()
		return judgement{}, classify(ctx.Err())
	case <-w.b.quit:
		forget()
		return judgement{}, fmt.Errorf("%w: the bridge closed before JetStream confirmed the ack", ErrClosed)
	}
}
