package session

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/httpmq/httpmq/internal/h2ws"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// wsTransport is a WebSocket session's [Transport]: frames batched into
// messages of the negotiated codec, pings as keep-alive, a close
// handshake at the end.
type wsTransport struct {
	conn  *websocket.Conn
	idle  *h2ws.Idle
	codec protocol.Codec
	typ   websocket.MessageType
	every time.Duration // the ping interval

	pinging atomic.Bool // a ping awaits its pong
	lost    atomic.Bool // a ping went unanswered
	wg      sync.WaitGroup
}

func newWSTransport(conn *websocket.Conn, idle *h2ws.Idle, codec protocol.Codec, every time.Duration) *wsTransport {
	t := &wsTransport{conn: conn, idle: idle, codec: codec, typ: websocket.MessageText, every: every}
	if codec.Binary() {
		t.typ = websocket.MessageBinary
	}
	return t
}

func (t *wsTransport) Encode(f *protocol.Frame) ([]byte, error) { return t.codec.Encode(f) }

// Codec makes live messages come encoded once for all sessions of the
// codec (see shared).
func (t *wsTransport) Codec() protocol.Codec { return t.codec }

// Write sends the frames as one message (see protocol.AppendFrame),
// built in a buffer shared through a pool: sized once for the batch,
// held only while it is written (an idle session holds none).
func (t *wsTransport) Write(ctx context.Context, frames [][]byte) error {
	if len(frames) == 1 {
		return t.conn.Write(ctx, t.typ, frames[0])
	}
	size := len(frames) // JSON's newlines
	for _, f := range frames {
		size += len(f)
	}
	bp := writeBuffers.Get().(*[]byte)
	msg := (*bp)[:0]
	if cap(msg) < size {
		msg = make([]byte, 0, size)
	}
	for _, f := range frames {
		msg = protocol.AppendFrame(t.codec, msg, f)
	}
	err := t.conn.Write(ctx, t.typ, msg)
	if cap(msg) <= 256<<10 { // a batch is about protocol.MaxBatchBytes; let a huge one go
		*bp = msg
		writeBuffers.Put(bp)
	}
	return err
}

var writeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// KeepAlive pings the peer, one ping at a time; a ping unanswered within
// the interval ends the session with 4002.
func (t *wsTransport) KeepAlive(ctx context.Context, _ time.Duration) *Disconnect {
	if t.lost.Load() {
		return &Disconnect{Close: protocol.CloseIdleTimeout, Reason: "no pong within " + t.every.String()}
	}
	if !t.pinging.CompareAndSwap(false, true) {
		return nil
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer t.pinging.Store(false)
		pctx, cancel := context.WithTimeout(ctx, t.every)
		defer cancel()
		if err := t.conn.Ping(pctx); err != nil && ctx.Err() == nil {
			t.lost.Store(true)
		}
	}()
	return nil
}

// Close closes the WebSocket with d's code (the peer may be gone).
func (t *wsTransport) Close(d Disconnect) {
	reason := d.Close.String()
	if d.Reason != "" {
		reason += ": " + d.Reason
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	t.idle.Close() // the closing handshake reads the connection
	_ = t.conn.Close(websocket.StatusCode(d.Close), reason)
	t.wg.Wait()
}

// openSession starts the client of an accepted session (its writer
// sends the hello frame); nil, having closed conn and called end, when
// the handler is shutting down.
func (h *Handler) openSession(r *http.Request, conn *websocket.Conn, idle *h2ws.Idle, codec protocol.Codec, end func()) *Client {
	t := newWSTransport(conn, idle, codec, h.opts.PingInterval)
	c, ok := h.newClient(r, t, "session", false, h.opts.PingInterval)
	if !ok {
		t.Close(Disconnect{Close: protocol.CloseGoingAway})
		end()
		return nil
	}
	c.subprotocol = codec.Name()
	c.logger().Debug("session open")
	conn.SetReadLimit(h.opts.MaxFrameBytes)
	c.send(&protocol.Frame{
		Type: protocol.TypeHello, Version: protocol.Version, Session: c.id,
		MaxFrame: int(h.opts.MaxFrameBytes), MaxSubs: h.opts.MaxSubscriptions, Heartbeat: h.opts.PingInterval,
	})
	c.start()
	return c
}

// serve reads and runs the session's commands until the connection
// ends or the client does, waits for the client to end, then calls end.
func (c *Client) serve(conn *websocket.Conn, idle *h2ws.Idle, codec protocol.Codec, end func()) {
	err := c.readLoop(conn, idle, codec)
	c.close(disconnectNormal)
	<-c.done
	c.logger().Debug("session closed", "why", err)
	end()
}

// readLoop reads and runs frames until the connection fails or closes.
// Each message is read into a pooled buffer, taken once the message has
// begun (an idle session holds none) and returned once its frames have
// run: decoded frames copy what they keep.
func (c *Client) readLoop(conn *websocket.Conn, idle *h2ws.Idle, codec protocol.Codec) error {
	for {
		idle.Wait() // near the top of the stack, while nothing comes
		typ, r, err := conn.Reader(context.Background())
		if err != nil {
			return err
		}
		bp := readBuffers.Get().(*[]byte)
		data, err := httpx.AppendAll((*bp)[:0], r)
		if err != nil {
			readBuffers.Put(bp)
			return err
		}
		if (typ == websocket.MessageBinary) != codec.Binary() {
			readBuffers.Put(bp)
			c.closeBroken(Disconnect{Close: protocol.CloseProtocolError, Reason: "message type does not match subprotocol " + codec.Name()})
			continue // the close handshake ends Read
		}
		protocol.Frames(codec, data, c.handle)
		if cap(data) <= 64<<10 { // let a rare big one go
			*bp = data
			readBuffers.Put(bp)
		}
	}
}

var readBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// handle runs one frame of a message, or reports why it did not decode.
func (c *Client) handle(f *protocol.Frame, err error) {
	if err != nil {
		id := ""
		var de *protocol.DecodeError
		if errors.As(err, &de) {
			id = de.ID
		}
		c.send(protocol.ErrorFrame(id, err))
		return
	}
	if err := f.ValidateFromClient(); err != nil {
		c.send(protocol.ErrorFrame(f.ID, err))
		return
	}
	c.dispatch(f)
}
