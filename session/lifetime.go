package session

import (
	"context"
	"slices"
	"sync"
	"time"
)

// lifetime is a context that ends when its owner ends it: a client's, or
// its writes'. It differs from context.WithCancel's in one way: what is
// derived from it (a call's context with a time-out, a transport's
// AfterFunc for one write) registers through its AfterFunc method, which
// the context package uses when a parent has one, in a list that is
// emptied, storage and all, as those end. A cancelCtx keeps the map of
// its children for its whole life once it had one; a session holds its
// contexts for hours, and an idle one would carry that map (and its
// writes' one) for every call it ever made.
type lifetime struct {
	done chan struct{}

	mu    sync.Mutex
	err   error
	funcs []afterFunc
	seq   uint64
}

type afterFunc struct {
	id uint64
	f  func()
}

func newLifetime() *lifetime { return &lifetime{done: make(chan struct{})} }

func (l *lifetime) Deadline() (time.Time, bool) { return time.Time{}, false }
func (l *lifetime) Done() <-chan struct{}       { return l.done }
func (l *lifetime) Value(any) any               { return nil }

func (l *lifetime) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// AfterFunc runs f in a goroutine of its own once l ends (at once if it
// has). Stop unregisters f, reporting whether it did so before f ran: the
// contract context.AfterFunc gives such methods.
func (l *lifetime) AfterFunc(f func()) (stop func() bool) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	l.seq++
	id := l.seq
	l.funcs = append(l.funcs, afterFunc{id: id, f: f})
	l.mu.Unlock()
	return func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		i := slices.IndexFunc(l.funcs, func(a afterFunc) bool { return a.id == id })
		if i < 0 {
			return false
		}
		l.funcs = slices.Delete(l.funcs, i, i+1)
		if len(l.funcs) == 0 {
			l.funcs = nil
		}
		return true
	}
}

// cancel ends l: Done closes, Err is context.Canceled, and what was
// registered runs.
func (l *lifetime) cancel() {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	l.err = context.Canceled
	funcs := l.funcs
	l.funcs = nil
	close(l.done)
	l.mu.Unlock()
	for _, a := range funcs {
		go a.f()
	}
}
