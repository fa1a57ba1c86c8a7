package session

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// session is one client's WebSocket. The goroutine that called run owns
// it: it reads and dispatches commands; a writer goroutine drains the
// outbound queue; a pinger checks the peer; each subscription pumps
// deliveries; publishes and confirmed acks run in bounded goroutines.
type session struct {
	h      *Handler
	id     string
	conn   *websocket.Conn
	codec  protocol.Codec
	log    *slog.Logger
	ctx    context.Context // ends when the session ends
	cancel context.CancelFunc

	out      chan []byte   // encoded frames for the writer
	batchBuf []byte        // the writer's, reused for batched messages
	pending  chan struct{} // slots for in-flight publishes and confirmed acks

	mu   sync.Mutex
	subs map[string]*subscription

	// who is the session's identity, replaced by auth frames; renewed
	// tells the expiry watcher that it changed.
	who     atomic.Pointer[auth.Identity]
	renewed chan struct{}

	pinging   atomic.Bool // a ping awaits its pong
	closeOnce sync.Once
	closeDone chan struct{} // closed when the close handshake has finished
	wg        sync.WaitGroup
}

func newSession(h *Handler, conn *websocket.Conn, codec protocol.Codec, r *http.Request) *session {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	id := newID()
	s := &session{
		h: h, id: id, conn: conn, codec: codec, ctx: ctx, cancel: cancel,
		log:       h.log.With("session", id, "remote", r.RemoteAddr, "proto", r.Proto, "subprotocol", codec.Name()),
		out:       make(chan []byte, h.opts.OutboundQueue),
		pending:   make(chan struct{}, h.opts.MaxPending),
		subs:      map[string]*subscription{},
		closeDone: make(chan struct{}),
		renewed:   make(chan struct{}, 1),
	}
	who := auth.IdentityFrom(r.Context())
	s.who.Store(&who)
	return s
}

// run serves the session until it ends, then releases everything it held.
func (s *session) run() {
	s.log.Debug("session open")
	s.conn.SetReadLimit(s.h.opts.MaxFrameBytes)
	s.wg.Add(1)
	go s.writer()
	s.send(&protocol.Frame{
		Type: protocol.TypeHello, Version: protocol.Version, Session: s.id,
		MaxFrame: int(s.h.opts.MaxFrameBytes), MaxSubs: s.h.opts.MaxSubscriptions, Heartbeat: s.h.opts.PingInterval,
	})
	err := s.readLoop()
	s.cancel()
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	for _, sub := range subs {
		sub.stop()
	}
	s.wg.Wait()
	// Publishes still awaiting JetStream hold pending slots until their
	// callback has run (within the request timeout): wait for them all.
	for range cap(s.pending) {
		s.pending <- struct{}{}
	}
	s.closeWith(protocol.CloseNormal, "")
	<-s.closeDone
	s.log.Debug("session closed", "why", err)
}

// readLoop reads and dispatches frames until the connection fails or closes.
func (s *session) readLoop() error {
	for {
		typ, data, err := s.conn.Read(context.Background())
		if err != nil {
			return err
		}
		if (typ == websocket.MessageBinary) != s.codec.Binary() {
			s.closeWith(protocol.CloseProtocolError, "message type does not match subprotocol "+s.codec.Name())
			continue // the close handshake ends Read
		}
		protocol.Frames(s.codec, data, s.handle)
	}
}

// handle runs one frame of a message, or reports why it did not decode.
func (s *session) handle(f *protocol.Frame, err error) {
	if err != nil {
		id := ""
		var de *protocol.DecodeError
		if errors.As(err, &de) {
			id = de.ID
		}
		s.send(protocol.ErrorFrame(id, err))
		return
	}
	if err := f.ValidateFromClient(); err != nil {
		s.send(protocol.ErrorFrame(f.ID, err))
		return
	}
	s.dispatch(f)
}

// send queues a frame for the client, waiting while the queue is full.
// A queue full for longer than the slow-consumer timeout ends the
// session. It reports whether the frame was queued.
func (s *session) send(f *protocol.Frame) bool {
	b, err := s.codec.Encode(f)
	if err != nil {
		s.log.Error("encode frame", "type", f.Type, "err", err)
		return false
	}
	return s.sendEncoded(b)
}

func (s *session) sendEncoded(b []byte) bool {
	select {
	case s.out <- b:
		return true
	case <-s.ctx.Done():
		return false
	default:
	}
	t := time.NewTimer(s.h.opts.SlowConsumerTimeout)
	defer t.Stop()
	select {
	case s.out <- b:
		return true
	case <-s.ctx.Done():
		return false
	case <-t.C:
		s.log.Info("closing slow consumer", "queued", len(s.out))
		s.closeWith(protocol.CloseSlowConsumer, "outbound queue full for "+s.h.opts.SlowConsumerTimeout.String())
		return false
	}
}

// reply answers a command: with ok when err is nil, else with an error
// frame carrying ok's id.
func (s *session) reply(ok *protocol.Frame, err error) {
	if err != nil {
		e := httpx.Classify(err)
		if e.Code == protocol.CodeInternal {
			s.log.Error("command failed", "id", ok.ID, "err", err)
		}
		s.send(protocol.ErrorFrame(ok.ID, e))
		return
	}
	s.send(ok)
}

// replyLater is reply for callbacks that must not block (PublishAsync's):
// it queues the answer at once if there is room, or else from a goroutine
// of its own; either way it then frees the command's pending slot.
func (s *session) replyLater(ok *protocol.Frame, err error) {
	f := ok
	if err != nil {
		f = protocol.ErrorFrame(ok.ID, httpx.Classify(err))
	}
	b, encErr := s.codec.Encode(f)
	if encErr != nil {
		s.log.Error("encode frame", "type", f.Type, "err", encErr)
		<-s.pending
		return
	}
	select {
	case s.out <- b:
		<-s.pending
		return
	default:
	}
	go func() {
		defer func() { <-s.pending }()
		s.sendEncoded(b)
	}()
}

// writer drains the outbound queue to the socket, pings the peer every
// ping interval, and ends the session when its credentials expire: one
// goroutine where three would cost each idle session their stacks.
func (s *session) writer() {
	defer s.wg.Done()
	typ := websocket.MessageText
	if s.codec.Binary() {
		typ = websocket.MessageBinary
	}
	ping := time.NewTicker(s.h.opts.PingInterval)
	defer ping.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	s.armExpiry(expiry)
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-ping.C:
			if s.pinging.CompareAndSwap(false, true) { // one ping at a time
				s.wg.Add(1) // the writer's own count keeps the group open
				go s.ping()
			}
		case <-s.renewed:
			s.armExpiry(expiry)
		case <-expiry.C:
			s.expired()
		case b := <-s.out:
			b = s.batch(b)
			// A write blocked this long means the peer reads too slowly.
			ctx, cancel := context.WithTimeout(s.ctx, s.h.opts.SlowConsumerTimeout)
			err := s.conn.Write(ctx, typ, b)
			cancel()
			if err != nil {
				if ctx.Err() != nil && s.ctx.Err() == nil {
					s.closeWith(protocol.CloseSlowConsumer, "write blocked for "+s.h.opts.SlowConsumerTimeout.String())
				} else {
					s.closeWith(protocol.CloseInternalError, "write failed")
				}
				return
			}
		}
	}
}

// batch sends the frames already waiting along with first, in one
// message (a lone frame goes out at once, alone), reusing a small buffer.
func (s *session) batch(first []byte) []byte {
	msg := protocol.Batch(s.codec, s.batchBuf, first, s.out)
	if len(msg) != len(first) && cap(msg) <= 8<<10 { // keep a small buffer; let a burst's big one go
		s.batchBuf = msg
	}
	return msg
}

// ping sends a WebSocket ping and closes the session with 4002 when no
// pong comes back within the ping interval.
func (s *session) ping() {
	defer s.wg.Done()
	defer s.pinging.Store(false)
	every := s.h.opts.PingInterval
	ctx, cancel := context.WithTimeout(s.ctx, every)
	defer cancel()
	if err := s.conn.Ping(ctx); err != nil && s.ctx.Err() == nil {
		s.log.Info("peer stopped answering pings", "err", err)
		s.closeWith(protocol.CloseIdleTimeout, "no pong within "+every.String())
	}
}

// closeWith starts the close handshake once; the read loop then ends.
// It does not wait.
func (s *session) closeWith(code protocol.CloseCode, why string) {
	s.closeOnce.Do(func() {
		reason := code.String()
		if why != "" {
			reason += ": " + why
		}
		if len(reason) > 123 {
			reason = reason[:123]
		}
		go func() {
			defer close(s.closeDone)
			_ = s.conn.Close(websocket.StatusCode(code), reason) // the peer may already be gone
		}()
	})
}
