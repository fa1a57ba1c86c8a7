package bridge

// expired marks, in an ack log, a delivery whose ack wait elapsed
// before any ack: JetStream delivers the message again.
const expired AckKind = -1

// ackRecord is how one message stopped awaiting the ack of a delivery.
type ackRecord struct {
	dseq uint64 // the consumer sequence of the delivery the ack named
	kind AckKind
}

// ackLog remembers the last records of a consumer by stream sequence,
// forgetting the oldest beyond its capacity. Not safe for concurrent use.
type ackLog struct {
	recs  map[uint64]logged
	order []uint64 // stream sequences in the order recorded (a ring)
	next  int      // where the next sequence goes in order
	gen   uint64
}

type logged struct {
	ackRecord
	gen uint64 // which write of order holds it
}

func newAckLog(capacity int) ackLog {
	return ackLog{recs: map[uint64]logged{}, order: make([]uint64, 0, capacity)}
}

func (l *ackLog) add(seq uint64, r ackRecord) {
	l.gen++
	if len(l.order) < cap(l.order) {
		l.order = append(l.order, seq)
	} else {
		old := l.order[l.next]
		// Forget the oldest, unless it was recorded again since.
		if o, ok := l.recs[old]; ok && o.gen+uint64(cap(l.order)) <= l.gen {
			delete(l.recs, old)
		}
		l.order[l.next] = seq
		l.next = (l.next + 1) % cap(l.order)
	}
	l.recs[seq] = logged{ackRecord: r, gen: l.gen}
}

func (l *ackLog) get(seq uint64) (ackRecord, bool) {
	r, ok := l.recs[seq]
	return r.ackRecord, ok
}
