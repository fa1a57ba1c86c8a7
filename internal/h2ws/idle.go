package h2ws

import (
	"bufio"
	"net"
	"sync"
	"syscall"
)

// Idle lets the goroutine that reads a WebSocket wait for the peer near
// the top of its stack, before it calls into the WebSocket's reader.
// Waiting there instead of deep inside the reader lets the runtime shrink
// the stack of an idle connection's goroutine (it halves a stack that is
// less than a quarter used), which is most of what an idle connection
// costs.
//
// Only the reader's goroutine calls Wait. Close must be called before
// the WebSocket's Close, whose closing handshake reads the connection
// from another goroutine.
type Idle struct {
	raw syscall.RawConn
	br  *bufio.Reader // the WebSocket's

	mu     sync.Mutex
	closed bool
}

// newIdle returns the Idle of conn, read through br; nil when conn is
// not a socket Wait can watch (TLS: its buffered records are out of
// sight) or the platform has no way to peek at it.
func newIdle(conn net.Conn, br *bufio.Reader) *Idle {
	sc, ok := conn.(syscall.Conn)
	if !ok || !canPeek {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &Idle{raw: raw, br: br}
}

// Wait returns once the connection may have something to read: the
// reader holds buffered bytes, the socket has data or is closed, or
// Close was called. A nil Idle returns at once.
func (i *Idle) Wait() {
	if i == nil {
		return
	}
	i.mu.Lock()
	skip := i.closed || i.br.Buffered() > 0
	i.mu.Unlock()
	if !skip {
		_ = i.raw.Read(readable) // an error is the reader's to see
	}
}

// Close ends Wait's look at the reader's buffer: after it, the closing
// handshake may read the connection.
func (i *Idle) Close() {
	if i == nil {
		return
	}
	i.mu.Lock()
	i.closed = true
	i.mu.Unlock()
}
