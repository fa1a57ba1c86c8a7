package bridge

import "time"

// inflight tracks a subscriber's unacknowledged deliveries and their ack
// deadlines. Deadlines are set in increasing order (now + the consumer's
// ack wait), so a FIFO finds the expired ones in O(1) amortized; entries
// made stale by an ack or a deadline extension are skipped when they
// reach the front. Not safe for concurrent use: the subscription's lock
// guards it.
type inflight struct {
	exp   map[uint64]time.Time // stream sequence → current deadline
	order []deadline           // deadlines in the order they were set
}

type deadline struct {
	seq uint64
	at  time.Time
}

func newInflight() inflight { return inflight{exp: map[uint64]time.Time{}} }

func (f *inflight) len() int { return len(f.exp) }

func (f *inflight) has(seq uint64) bool {
	_, ok := f.exp[seq]
	return ok
}

// set starts or restarts seq's deadline.
func (f *inflight) set(seq uint64, at time.Time) {
	f.exp[seq] = at
	f.order = append(f.order, deadline{seq, at})
	if len(f.order) > 4*len(f.exp)+64 {
		f.compact()
	}
}

func (f *inflight) remove(seq uint64) { delete(f.exp, seq) }

// expire removes the deliveries whose deadline is not after now, appends
// their sequences to expired, and returns the next deadline (zero if
// none).
func (f *inflight) expire(now time.Time, expired []uint64) ([]uint64, time.Time) {
	for len(f.order) > 0 {
		d := f.order[0]
		cur, ok := f.exp[d.seq]
		if !ok || !cur.Equal(d.at) { // acked, or extended later
			f.pop()
			continue
		}
		if d.at.After(now) {
			return expired, d.at
		}
		delete(f.exp, d.seq)
		expired = append(expired, d.seq)
		f.pop()
	}
	return expired, time.Time{}
}

func (f *inflight) pop() {
	f.order[0] = deadline{}
	f.order = f.order[1:]
}

// compact drops stale entries so order stays proportional to exp.
func (f *inflight) compact() {
	live := f.order[:0:0]
	for _, d := range f.order {
		if cur, ok := f.exp[d.seq]; ok && cur.Equal(d.at) {
			live = append(live, d)
		}
	}
	f.order = live
}
