package session

import (
	"errors"
	"sync"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// subscription pumps one bridge subscription's deliveries into its
// session's outbound queue.
type subscription struct {
	s  *session
	id string
	bs *bridge.Subscription

	// mu orders deliveries before stop: once stop returns, no msg frame
	// of this subscription is queued any more (so none follows the
	// unsubscribe's ok).
	mu      sync.Mutex
	stopped bool
}

func (sub *subscription) pump() {
	s := sub.s
	defer s.wg.Done()
	for {
		d, err := sub.bs.Next(s.ctx)
		if err != nil {
			if s.ctx.Err() == nil && !errorsIsClosed(err) {
				// The server ended it (consumer deleted, NATS gone).
				s.forget(sub)
				s.send(protocol.ClosedFrame(sub.id, httpx.Classify(err)))
			}
			_ = sub.bs.Close()
			return
		}
		sub.mu.Lock()
		if sub.stopped {
			sub.mu.Unlock()
			// Never shown to the client: back to JetStream at once.
			_ = s.h.opts.Broker.AckAsync(d.AckRequest(bridge.Nak))
			return
		}
		sent := s.send(&protocol.Frame{
			Type: protocol.TypeMsg, Sub: sub.id, Subject: d.Subject, Stream: d.Stream, Consumer: d.Consumer,
			StreamSeq: d.StreamSeq, ConsumerSeq: d.ConsumerSeq, Deliveries: d.Deliveries, Pending: d.Pending,
			Time: d.Time.UnixNano(), Headers: d.Header, Data: d.Data,
		})
		sub.mu.Unlock()
		if !sent {
			_ = sub.bs.Close()
			return
		}
	}
}

// stop ends the subscription; the pump exits, and queues nothing more.
func (sub *subscription) stop() {
	sub.mu.Lock()
	sub.stopped = true
	sub.mu.Unlock()
	_ = sub.bs.Close()
}

func errorsIsClosed(err error) bool { return errors.Is(err, bridge.ErrSubscriptionClosed) }
