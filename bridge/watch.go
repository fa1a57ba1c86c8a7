package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// consumerKey names a consumer.
type consumerKey struct{ stream, consumer string }

// consumerWatch is what one bridge shares among all its subscriptions to
// one consumer: a single observer of the consumer's ack subjects (acks
// from anywhere release the credit of whichever subscription holds the
// message) and membership in the periodic check that the consumer still
// exists. Sharing keeps the cost of an ack constant however many
// subscribers a consumer has.
type consumerWatch struct {
	key  consumerKey
	subs []*nats.Subscription

	mu      sync.Mutex
	members map[*Subscription]struct{}
	holders map[uint64]*Subscription // stream sequence → subscription it is in flight with
}

// watchers is a bridge's registry of consumer watches and the goroutine
// that checks their consumers.
type watchers struct {
	mu      sync.Mutex
	watches map[consumerKey]*consumerWatch
	stop    context.CancelFunc // of the checker; nil while none runs
	wg      sync.WaitGroup     // the checker
}

// join adds s to the watch of its consumer, creating it when s is the
// first subscriber.
func (b *Bridge) join(s *Subscription) (*consumerWatch, error) {
	key := consumerKey{s.stream, s.name}
	b.w.mu.Lock()
	defer b.w.mu.Unlock()
	if b.w.watches == nil {
		b.w.watches = map[consumerKey]*consumerWatch{}
	}
	w := b.w.watches[key]
	if w == nil {
		w = &consumerWatch{key: key, members: map[*Subscription]struct{}{}, holders: map[uint64]*Subscription{}}
		// Both ack subject formats: v1 $JS.ACK.<stream>.<consumer>.… and
		// v2 $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.….
		for _, subj := range []string{
			"$JS.ACK." + key.stream + "." + key.consumer + ".>",
			"$JS.ACK.*.*." + key.stream + "." + key.consumer + ".>",
		} {
			sub, err := b.nc.Subscribe(subj, w.observe)
			if err != nil {
				w.unsubscribe()
				return nil, classify(err)
			}
			w.subs = append(w.subs, sub)
		}
		b.w.watches[key] = w
	}
	w.mu.Lock()
	w.members[s] = struct{}{}
	w.mu.Unlock()
	if b.w.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		b.w.stop = cancel
		b.w.wg.Add(1)
		go b.checkConsumers(ctx)
	}
	return w, nil
}

// leave removes s from its watch; the last one out removes the watch,
// and the checker stops when no watch is left.
func (b *Bridge) leave(w *consumerWatch, s *Subscription) {
	b.w.mu.Lock()
	w.mu.Lock()
	delete(w.members, s)
	for seq, h := range w.holders {
		if h == s {
			delete(w.holders, seq)
		}
	}
	empty := len(w.members) == 0
	w.mu.Unlock()
	if empty && b.w.watches[w.key] == w {
		delete(b.w.watches, w.key)
		w.unsubscribe()
		if len(b.w.watches) == 0 && b.w.stop != nil {
			b.w.stop()
			b.w.stop = nil
		}
	}
	b.w.mu.Unlock()
}

// stopWatching stops the checker and waits for it (Bridge.Close).
func (b *Bridge) stopWatching() {
	b.w.mu.Lock()
	if b.w.stop != nil {
		b.w.stop()
		b.w.stop = nil
	}
	b.w.mu.Unlock()
	b.w.wg.Wait()
}

func (w *consumerWatch) unsubscribe() {
	for _, sub := range w.subs {
		_ = sub.Unsubscribe() // fails only when the connection is gone, which unsubscribes too
	}
}

// hold records that seq is in flight with s.
func (w *consumerWatch) hold(seq uint64, s *Subscription) {
	w.mu.Lock()
	w.holders[seq] = s
	w.mu.Unlock()
}

// drop forgets seq, if s still holds it.
func (w *consumerWatch) drop(seq uint64, s *Subscription) {
	w.mu.Lock()
	if w.holders[seq] == s {
		delete(w.holders, seq)
	}
	w.mu.Unlock()
}

// observe releases the credit of the subscription holding an acked
// message, or extends its deadline for an in-progress ack.
func (w *consumerWatch) observe(m *nats.Msg) {
	seq, ok := ackedSeq(m.Subject)
	if !ok {
		return
	}
	progress := strings.HasPrefix(string(m.Data), "+WPI")
	w.mu.Lock()
	s := w.holders[seq]
	if s != nil && !progress {
		delete(w.holders, seq)
	}
	w.mu.Unlock()
	if s != nil {
		s.acked(seq, progress)
	}
}

// ackedSeq reads the stream sequence from an ack subject (v1:
// $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.…; v2 has two more tokens
// before the stream).
func ackedSeq(subject string) (uint64, bool) {
	tokens := strings.Split(subject, ".")
	off := 4
	if len(tokens) >= 11 {
		off = 6
	}
	if len(tokens) < off+3 {
		return 0, false
	}
	seq, err := strconv.ParseUint(tokens[off+1], 10, 64)
	return seq, err == nil
}

// consumerCheckInterval is how often the bridge verifies that consumers
// with subscribers still exist (push consumers give no other sign).
const consumerCheckInterval = 5 * time.Second

// checkConsumers ends the subscriptions of consumers that were deleted,
// and all of them when the connection is closed.
func (b *Bridge) checkConsumers(ctx context.Context) {
	defer b.w.wg.Done()
	t := time.NewTicker(consumerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.w.mu.Lock()
		watches := make([]*consumerWatch, 0, len(b.w.watches))
		for _, w := range b.w.watches {
			watches = append(watches, w)
		}
		b.w.mu.Unlock()
		for _, w := range watches {
			var why error
			if b.nc.IsClosed() {
				why = fmt.Errorf("%w: connection closed", ErrUnavailable)
			} else {
				rctx, cancel := b.ctx(ctx)
				_, err := b.consumerInfo(rctx, w.key.stream, w.key.consumer)
				cancel()
				if errors.Is(err, ErrConsumerNotFound) || errors.Is(err, ErrStreamNotFound) {
					why = err
				}
			}
			if why == nil {
				continue
			}
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
}
