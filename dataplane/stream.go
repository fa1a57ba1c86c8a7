package dataplane

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/httpmq/httpmq/session"
)

// stream is a subscription response as a [session.Transport]: the REST
// stream is a one-way client of the same machinery as WebSocket
// sessions. Deliveries become NDJSON lines or SSE events, the end of the
// subscription a final error object, and an idle stream gets heartbeats.
type stream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	f         format
	requestID string
	heartbeat time.Duration

	buf         bytes.Buffer
	noDeadlines bool // the writer cannot take deadlines
	began       bool // the head is written
}

var _ session.Transport = (*stream)(nil)

// begin writes the response's head: from now on errors are in-band.
func (s *stream) begin() error {
	h := s.w.Header()
	h.Set("Content-Type", s.f.contentType())
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	h.Set("X-Content-Type-Options", "nosniff")
	if s.requestID != "" {
		h.Set(httpx.RequestIDHeader, s.requestID)
	}
	// The server's ReadTimeout and WriteTimeout would cut the stream at a
	// fixed age; each write gets its own deadline instead.
	_ = s.rc.SetReadDeadline(time.Time{}) // unsupported only by writers without deadlines
	s.w.WriteHeader(http.StatusOK)
	s.began = true
	return s.flush(context.Background())
}

// Encode implements session.Transport: deliveries and the subscription's
// end; the stream has no use for other frames.
func (s *stream) Encode(f *protocol.Frame) ([]byte, error) {
	var buf bytes.Buffer
	switch f.Type {
	case protocol.TypeMsg:
		// The SSE event id: stream.consumer sequences, or for a live
		// message the stream sequence alone, which a reconnecting
		// EventSource sends back as Last-Event-ID to resume after it.
		id := strconv.FormatUint(f.StreamSeq, 10)
		if f.ConsumerSeq != 0 {
			id += "." + strconv.FormatUint(f.ConsumerSeq, 10)
		}
		if err := s.f.message(&buf, id, delivery(s.requestID, f)); err != nil {
			return nil, err
		}
	case protocol.TypeClosed:
		if err := s.f.end(&buf, httpx.Envelope{RequestID: s.requestID, Error: f.Err()}); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return buf.Bytes(), nil
}

// Write implements session.Transport.
func (s *stream) Write(ctx context.Context, frames [][]byte) error {
	for _, f := range frames {
		s.buf.Write(f)
	}
	return s.flush(ctx)
}

// KeepAlive implements session.Transport: a heartbeat when the stream
// has been idle for half the heartbeat interval (it runs that often), so
// that it is never silent for longer than the interval.
func (s *stream) KeepAlive(ctx context.Context, idle time.Duration) *session.Disconnect {
	if s.heartbeat <= 0 || idle < s.heartbeat/2 {
		return nil
	}
	s.f.heartbeat(&s.buf)
	if err := s.flush(ctx); err != nil {
		return &session.Disconnect{Close: protocol.CloseNormal, Reason: "heartbeat failed"}
	}
	return nil
}

// Close implements session.Transport: the final error object, if the
// stream ends for one, and no deadline of ours left on a connection that
// may serve further requests (HTTP/1.1 keep-alive).
func (s *stream) Close(d session.Disconnect) {
	if s.began && d.Err != nil {
		if err := s.f.end(&s.buf, httpx.Envelope{RequestID: s.requestID, Error: d.Err}); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.flush(ctx) // the stream ends either way
			cancel()
		}
	}
	if !s.noDeadlines {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}

// flush writes the buffer and flushes it to the client, within ctx's
// deadline; ctx's cancellation cuts a blocked write short.
func (s *stream) flush(ctx context.Context) error {
	if !s.noDeadlines {
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(DefaultWriteTimeout)
		}
		if err := s.rc.SetWriteDeadline(deadline); err != nil {
			s.noDeadlines = true
		} else {
			// The cut may already run when the write ends: wait for it, or
			// it could touch the response after the handler returned.
			cut := make(chan struct{})
			stop := context.AfterFunc(ctx, func() {
				defer close(cut)
				_ = s.rc.SetWriteDeadline(time.Now())
			})
			defer func() {
				if !stop() {
					<-cut
				}
			}()
		}
	}
	if s.buf.Len() > 0 {
		_, err := s.w.Write(s.buf.Bytes())
		s.buf.Reset()
		if err != nil {
			return err
		}
	}
	return s.rc.Flush()
}
