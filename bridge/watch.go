package bridge

import (
	"container/heap"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// consumerKey names a consumer.
type consumerKey struct{ stream, consumer string }

// watchGrace is how long a bridge keeps watching a consumer after its
// last local subscriber left or its last ack passed through: long enough
// for the acks of deliveries still in clients' hands to be judged
// exactly.
const watchGrace = 2 * time.Minute

// expiryMargin is how long after its ack wait a delivery still counts
// against its subscriber. JetStream delivers an unacked message again
// when its own timer finds it expired, a little after the ack wait; a
// credit returned before then could bring a new message while JetStream
// still counts the old one as the subscriber's.
func expiryMargin(ackWait time.Duration) time.Duration {
	return max(ackWait/10, 50*time.Millisecond)
}

// ackLogSize bounds the acks a watch remembers per consumer.
const ackLogSize = 1 << 16

// consumerWatch is the bridge's ledger for one consumer: the deliveries
// handed to clients through this instance that await their ack (with the
// consumer sequence of their current delivery and its ack deadline), and
// the recent acks seen on the consumer, made through any instance or
// straight to NATS. It is what lets an ack be answered truthfully
// ([Bridge.Ack]) and what returns credit to subscriptions.
//
// A watch observes the consumer's ack subjects (one NATS subscription per
// consumer per instance, however many subscribers), learns of the
// consumer's or stream's deletion from JetStream's advisories, and
// answers other instances' questions about deliveries it holds (see
// ackquery.go).
type consumerWatch struct {
	b        *Bridge
	key      consumerKey
	subs     []*nats.Subscription
	confirms string // confirmSubjects(key)

	mu      sync.Mutex
	members map[*Subscription]struct{}
	held    map[uint64]*holding // by stream sequence
	dues    dueHeap             // ack deadlines of held, lazily pruned
	log     ackLog
	timer   *time.Timer               // next ack deadline, or the end of the grace period
	idle    time.Time                 // no members since; zero while there are members
	gone    bool                      // removed from the bridge
	waiting map[uint64]chan judgement // this instance's acks awaiting their confirmation, by id
}

// holding is one delivery awaiting its ack.
type holding struct {
	sub      *Subscription // nil once the subscriber left
	dseq     uint64        // consumer sequence of the current delivery
	dc       uint64        // its delivery count
	reply    string        // its ack subject, as JetStream sent it
	wait     time.Duration // its ack wait
	deadline time.Time     // when JetStream may deliver it again
}

// watch returns the bridge's watch of key, creating it (and its NATS
// subscriptions) when there is none. With member set, member joins it.
func (b *Bridge) watch(key consumerKey, member *Subscription) (*consumerWatch, error) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	w := b.watches[key]
	if w == nil {
		w = &consumerWatch{b: b, key: key, confirms: confirmSubjects(key), members: map[*Subscription]struct{}{}, held: map[uint64]*holding{},
			log: newAckLog(ackLogSize), waiting: map[uint64]chan judgement{}}
		if err := w.subscribe(); err != nil {
			return nil, err
		}
		b.watches[key] = w
	}
	w.mu.Lock()
	if member != nil {
		w.members[member] = struct{}{}
		w.idle = time.Time{}
	} else if len(w.members) == 0 {
		w.idle = time.Now() // an ack through this instance renews the grace period
	}
	w.rearm()
	w.mu.Unlock()
	return w, nil
}

// touch renews the grace period of a watch without members, as an ack
// through this instance does; false when the watch was retired (the
// caller then needs [Bridge.watch]). A watch with members needs nothing.
func (w *consumerWatch) touch() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		return false
	}
	if len(w.members) == 0 {
		w.idle = time.Now()
		w.rearm()
	}
	return true
}

// lookup returns the watch of key, if the bridge has one.
func (b *Bridge) lookup(key consumerKey) *consumerWatch {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	return b.watches[key]
}

// subscribe starts observing the consumer.
func (w *consumerWatch) subscribe() error {
	s, c := w.key.stream, w.key.consumer
	subjects := []struct {
		subject string
		h       func(*nats.Msg)
	}{
		// Both ack subject formats: v1 $JS.ACK.<stream>.<consumer>.… and
		// v2 $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.….
		{"$JS.ACK." + s + "." + c + ".>", w.observe},
		{"$JS.ACK.*.*." + s + "." + c + ".>", w.observe},
		{"$JS.EVENT.ADVISORY.CONSUMER.DELETED." + s + "." + c, w.deleted(ErrConsumerNotFound)},
		{"$JS.EVENT.ADVISORY.STREAM.DELETED." + s, w.deleted(ErrStreamNotFound)},
		// JetStream sends those advisories through a queue it may close
		// before they leave: the deletion requests made in the account
		// are observed too, and the consumer looked up after them.
		{"$JS.API.CONSUMER.DELETE." + s + "." + c, w.deleting},
		{"$JS.API.STREAM.DELETE." + s, w.deleting},
		{ackQuerySubject(w.key), w.answer},
		// Below the ack subjects and the query, whose places tests know.
		{w.confirms + ">", w.confirmed},
		{"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + s + "." + c, w.exhausted},
	}
	for _, x := range subjects {
		sub, err := w.b.d.subscribe(w.b.nc, x.subject, "", x.h)
		if err != nil {
			w.unsubscribe()
			return classify(err)
		}
		w.subs = append(w.subs, sub)
	}
	return nil
}

func (w *consumerWatch) unsubscribe() {
	for _, sub := range w.subs {
		w.b.d.forget(sub)
		_ = sub.Unsubscribe() // fails only when the connection is gone, which unsubscribes too
	}
	w.subs = nil
}

// leave removes s; holdings it has stay until acked or expired, so that
// late acks are still judged.
func (w *consumerWatch) leave(s *Subscription) {
	w.mu.Lock()
	delete(w.members, s)
	for _, h := range w.held {
		if h.sub == s {
			h.sub = nil
		}
	}
	if len(w.members) == 0 {
		w.idle = time.Now()
	}
	w.rearm()
	w.mu.Unlock()
}

// hold records d as in flight with s (replacing an earlier delivery of
// the same message) and returns the subscription that held the earlier
// delivery, s itself included; nil when none did.
func (w *consumerWatch) hold(s *Subscription, d *Delivery, reply string, ackWait time.Duration) (previous *Subscription) {
	nh := &holding{sub: s, dseq: d.ConsumerSeq, dc: d.Deliveries, reply: reply, wait: ackWait,
		deadline: time.Now().Add(ackWait + expiryMargin(ackWait))}
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.held[d.StreamSeq]; h != nil {
		previous = h.sub
	}
	w.held[d.StreamSeq] = nh
	w.due(d.StreamSeq, nh.deadline)
	return previous
}

// due schedules seq's ack deadline. w.mu must be held.
func (w *consumerWatch) due(seq uint64, at time.Time) {
	heap.Push(&w.dues, due{seq: seq, at: at})
	if len(w.dues) > 4*len(w.held)+64 { // mostly stale entries: rebuild
		w.dues = w.dues[:0]
		for seq, h := range w.held {
			w.dues = append(w.dues, due{seq: seq, at: h.deadline})
		}
		heap.Init(&w.dues)
	}
	w.rearm()
}

// release ends the holding of seq on an answer of kind (restarts its ack
// wait on InProgress) and returns the subscription whose credit it
// frees, if any. w.mu must be held.
func (w *consumerWatch) release(seq uint64, kind AckKind) *Subscription {
	// JetStream matches acks by stream sequence, whatever delivery they
	// name: so does the ledger.
	h := w.held[seq]
	if h == nil {
		return nil
	}
	if kind == InProgress {
		h.deadline = time.Now().Add(h.wait + expiryMargin(h.wait))
		w.due(seq, h.deadline)
		return nil
	}
	delete(w.held, seq)
	return h.sub
}

// observe handles an ack seen on the consumer's ack subjects. An ack
// sent through httpmq (any instance) is settled by its confirmation, in
// JetStream's order ([consumerWatch.confirmed]); here it only frees
// its credit, and a nak is noted for retries. An ack a client of NATS
// sent directly has no confirmation here: the first ack or term seen
// is taken as the one that counted.
func (w *consumerWatch) observe(m *nats.Msg) {
	seq, dseq, ok := ackSeqs(m.Subject)
	if !ok {
		return
	}
	kind := kindOf(m.Data)
	w.mu.Lock()
	switch {
	case kind == Nak:
		w.log.add(seq, ackRecord{dseq: dseq, kind: kind})
	case kind != InProgress && !strings.HasPrefix(m.Reply, confirmPrefix):
		w.log.add(seq, ackRecord{dseq: dseq, kind: kind, final: true})
	}
	s := w.release(seq, kind)
	w.mu.Unlock()
	if s != nil {
		s.released(1)
	}
}

// deleted returns the advisory handler that ends every member with why.
func (w *consumerWatch) deleted(why error) func(*nats.Msg) {
	return func(*nats.Msg) {
		w.mu.Lock()
		members := make([]*Subscription, 0, len(w.members))
		for s := range w.members {
			members = append(members, s)
		}
		w.mu.Unlock()
		for _, s := range members {
			s.end(why)
		}
	}
}

// reconcile settles the deliveries held below the consumer's ack floor
// (their acks were missed), releasing their credit, and ends the members
// if the consumer is gone. Acks above the floor, out of order, stay
// unknown until their ack wait passes.
func (w *consumerWatch) reconcile() {
	b := w.b
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := b.ctx(context.Background())
		ci, err := b.consumerInfo(ctx, w.key.stream, w.key.consumer)
		cancel()
		if errors.Is(err, ErrConsumerNotFound) || errors.Is(err, ErrStreamNotFound) {
			w.deleted(err)(nil)
			return
		}
		if err != nil {
			return
		}
		freed := map[*Subscription]int{}
		w.mu.Lock()
		for seq, h := range w.held {
			if seq <= ci.AckFloor.Stream {
				delete(w.held, seq)
				w.log.add(seq, ackRecord{dseq: h.dseq, kind: Ack, final: true})
				if h.sub != nil {
					freed[h.sub]++
				}
			}
		}
		w.mu.Unlock()
		for s, n := range freed {
			s.released(n)
		}
	}()
}

// deleting handles a request to delete the consumer or its stream, seen
// on its way to JetStream: the request may be refused, so the consumer is
// looked up once JetStream had time to answer.
func (w *consumerWatch) deleting(*nats.Msg) {
	w.confirm(50*time.Millisecond, 250*time.Millisecond, time.Second, w.b.timeout)
}

// confirm looks the consumer up after each of waits in turn and ends
// every member, saying why, once JetStream no longer has it. It is how a
// deletion whose advisory was lost is learnt.
func (w *consumerWatch) confirm(waits ...time.Duration) {
	b := w.b
	select {
	case <-b.quit:
		return
	default:
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for _, d := range waits {
			t := time.NewTimer(d)
			select {
			case <-b.quit:
				t.Stop()
				return
			case <-t.C:
			}
			ctx, cancel := b.ctx(context.Background())
			_, err := b.consumerInfo(ctx, w.key.stream, w.key.consumer)
			cancel()
			if errors.Is(err, ErrConsumerNotFound) || errors.Is(err, ErrStreamNotFound) {
				w.deleted(err)(nil)
				return
			}
		}
	}()
}

// rearm sets the timer for the next ack deadline, or for the end of the
// grace period of an idle watch. w.mu must be held.
func (w *consumerWatch) rearm() {
	if w.gone {
		return
	}
	next := time.Time{}
	if len(w.dues) > 0 {
		next = w.dues[0].at
	}
	if !w.idle.IsZero() && len(w.held) == 0 {
		if end := w.idle.Add(watchGrace); next.IsZero() || end.Before(next) {
			next = end
		}
	}
	if next.IsZero() {
		return
	}
	d := max(time.Until(next), time.Millisecond)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.tick)
	} else {
		w.timer.Reset(d)
	}
}

// tick expires deliveries whose ack deadline passed (JetStream delivers
// them again: their credit returns to their subscription), and removes a
// watch idle for the grace period.
func (w *consumerWatch) tick() {
	now := time.Now()
	freed := map[*Subscription]int{}
	w.mu.Lock()
	for len(w.dues) > 0 && !w.dues[0].at.After(now) {
		d := heap.Pop(&w.dues).(due)
		h := w.held[d.seq]
		if h == nil || !h.deadline.Equal(d.at) {
			continue // acked, extended or delivered again since
		}
		delete(w.held, d.seq)
		w.log.add(d.seq, ackRecord{dseq: h.dseq, kind: expired})
		if h.sub != nil {
			freed[h.sub]++
		}
	}
	retire := !w.idle.IsZero() && len(w.members) == 0 && !now.Before(w.idle.Add(watchGrace))
	if !retire {
		w.rearm()
	}
	w.mu.Unlock()
	for s, n := range freed {
		s.released(n)
	}
	if retire {
		w.b.retire(w)
	}
}

// retire removes an idle watch from the bridge.
func (b *Bridge) retire(w *consumerWatch) {
	b.wmu.Lock()
	w.mu.Lock()
	if len(w.members) > 0 || w.idle.IsZero() || time.Since(w.idle) < watchGrace {
		w.mu.Unlock()
		b.wmu.Unlock()
		return // joined again meanwhile
	}
	w.gone = true
	if b.watches[w.key] == w {
		delete(b.watches, w.key)
	}
	w.mu.Unlock()
	b.wmu.Unlock()
	w.unsubscribe()
}

// stop ends a watch at bridge close.
func (w *consumerWatch) stop() {
	w.mu.Lock()
	w.gone = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
}

// ackSeqs reads the stream and consumer sequences from an ack subject
// (v1: $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>; v2
// has two more tokens before the stream and may have one after).
func ackSeqs(subject string) (sseq, dseq uint64, ok bool) {
	// Every ack is observed: split without allocating.
	var tokens [12]string
	n := 0
	for rest := subject; ; {
		tok, after, more := strings.Cut(rest, ".")
		if n < len(tokens) {
			tokens[n] = tok
		}
		n++
		if !more {
			break
		}
		rest = after
	}
	off := 4
	if n >= 11 {
		off = 6
	}
	if n < off+3 {
		return 0, 0, false
	}
	sseq, err1 := strconv.ParseUint(tokens[off+1], 10, 64)
	dseq, err2 := strconv.ParseUint(tokens[off+2], 10, 64)
	return sseq, dseq, err1 == nil && err2 == nil
}

// kindOf reads the kind of an ack from its body.
func kindOf(body []byte) AckKind {
	b := string(body)
	switch {
	case strings.HasPrefix(b, "-NAK"):
		return Nak
	case strings.HasPrefix(b, "+TERM"):
		return Term
	case strings.HasPrefix(b, "+WPI"):
		return InProgress
	}
	return Ack // "", "+ACK", "+OK", "+NXT"
}

// due is an ack deadline in a watch's heap.
type due struct {
	seq uint64
	at  time.Time
}

type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// replyOf is the ack subject JetStream gave the delivery a names, if the
// watch holds it.
func (w *consumerWatch) replyOf(a AckRequest) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.held[a.StreamSeq]; h != nil && h.dseq == a.ConsumerSeq {
		return h.reply
	}
	return ""
}
