package bridge

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
)

// dispatchQueue is how many messages may wait for the dispatcher. It is
// the buffer between the NATS connection's reader and the dispatcher;
// everything behind it is bounded by credit (pull requests ask for no
// more than their subscribers may hold), so it fills only when the
// dispatcher itself stalls.
const dispatchQueue = 1 << 16

// dispatcher routes the messages of every subscription the bridge holds
// (pull replies, push deliveries, ack observers, advisories) from one
// channel to their handlers, on one goroutine. nats.go subscribes a
// channel without a goroutine of its own, so a subscription costs a map
// entry, not a stack. Handlers run on the dispatcher goroutine and must
// not block.
type dispatcher struct {
	ch chan *nats.Msg

	mu       sync.RWMutex
	handlers map[*nats.Subscription]func(*nats.Msg)
	marks    map[*nats.Msg]func() // markers queued behind in-flight messages

	stop context.CancelFunc
	done chan struct{}
}

func newDispatcher() *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{
		ch:       make(chan *nats.Msg, dispatchQueue),
		handlers: map[*nats.Subscription]func(*nats.Msg){},
		marks:    map[*nats.Msg]func(){},
		stop:     cancel,
		done:     make(chan struct{}),
	}
	go d.run(ctx)
	return d
}

func (d *dispatcher) run(ctx context.Context) {
	defer close(d.done)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-d.ch:
			if m.Sub == nil { // a marker: every message from NATS has its subscription
				d.mu.Lock()
				mark := d.marks[m]
				delete(d.marks, m)
				d.mu.Unlock()
				if mark != nil {
					mark()
				}
				continue
			}
			d.mu.RLock()
			h := d.handlers[m.Sub]
			d.mu.RUnlock()
			if h != nil {
				h(m)
			}
		}
	}
}

// subscribe subscribes subject (in group, when not empty) with handler h.
func (d *dispatcher) subscribe(nc *nats.Conn, subject, group string, h func(*nats.Msg)) (*nats.Subscription, error) {
	// The handler must be known before the first message can arrive.
	d.mu.Lock()
	defer d.mu.Unlock()
	var sub *nats.Subscription
	var err error
	if group != "" {
		sub, err = nc.ChanQueueSubscribe(subject, group, d.ch)
	} else {
		sub, err = nc.ChanSubscribe(subject, d.ch)
	}
	if err != nil {
		return nil, err
	}
	d.handlers[sub] = h
	return sub, nil
}

// forget drops sub's handler: messages still queued for it are ignored.
func (d *dispatcher) forget(sub *nats.Subscription) {
	d.mu.Lock()
	delete(d.handlers, sub)
	d.mu.Unlock()
}

// after runs fn on the dispatcher once every message queued before the
// call has been handled. It reports false when the queue is full.
func (d *dispatcher) after(fn func()) bool {
	m := &nats.Msg{}
	d.mu.Lock()
	d.marks[m] = fn
	d.mu.Unlock()
	select {
	case d.ch <- m:
		return true
	default:
		d.mu.Lock()
		delete(d.marks, m)
		d.mu.Unlock()
		return false
	}
}

// close stops the dispatcher and waits for it.
func (d *dispatcher) close() {
	d.stop()
	<-d.done
}
