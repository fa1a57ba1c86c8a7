package bridge

// Kinds of records in an ack log besides the answers clients give.
const (
	// expired: the delivery's ack wait elapsed before any ack; JetStream
	// delivers the message again.
	expired AckKind = -1
	// exhaustedKind: JetStream gave up on the message, out of deliveries
	// (the consumer's max_deliver).
	exhaustedKind AckKind = -2
)

// ackRecord is how one message stopped awaiting the ack of a delivery.
type ackRecord struct {
	dseq uint64 // the consumer sequence of the delivery the ack named
	kind AckKind
	// final: JetStream is done with the message, and this is the answer
	// that ended it (or exhaustedKind): no later answer counts. A final
	// record is never replaced.
	final bool
}

// ackLog remembers the last records of a consumer by stream sequence,
// forgetting the oldest beyond its capacity. Not safe for concurrent use.
type ackLog struct {
	recs  map[uint64]logged
	order []uint64 // stream sequences in the order recorded (a ring once full)
	size  int      // the capacity: order grows up to it
	next  int      // where the next sequence goes in a full order
	gen   uint64
}

type logged struct {
	ackRecord
	gen uint64 // which write of order holds it
}

func newAckLog(capacity int) ackLog {
	return ackLog{recs: map[uint64]logged{}, size: capacity}
}

// add records r for seq, unless seq has a final record already.
func (l *ackLog) add(seq uint64, r ackRecord) {
	if o, ok := l.recs[seq]; ok && o.final {
		return
	}
	l.gen++
	if len(l.order) < l.size {
		l.order = append(l.order, seq)
	} else {
		old := l.order[l.next]
		// Forget the oldest, unless it was recorded again since.
		if o, ok := l.recs[old]; ok && o.gen+uint64(l.size) <= l.gen {
			delete(l.recs, old)
		}
		l.order[l.next] = seq
		l.next = (l.next + 1) % l.size
	}
	l.recs[seq] = logged{ackRecord: r, gen: l.gen}
}

func (l *ackLog) get(seq uint64) (ackRecord, bool) {
	r, ok := l.recs[seq]
	return r.ackRecord, ok
}
