package dataplane

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/httpx"
)

// stream is one subscription's response: only the handler goroutine that
// runs it writes to w; Shutdown reaches it through cancel.
type stream struct {
	h         *Handler
	w         http.ResponseWriter
	rc        *http.ResponseController
	f         format
	requestID string
	cancel    context.CancelCauseFunc
	done      chan struct{} // closed once the handler has let go of it

	buf         bytes.Buffer
	deadline    time.Time // current write deadline
	noDeadlines bool      // the writer cannot take deadlines
	lastWrite   time.Time
}

// run writes the response until the client leaves (nil), the handler
// shuts down, the credentials expire (ctx's deadline) or the
// subscription ends (the reason, also sent to the client as the final
// object).
func (s *stream) run(ctx context.Context, sub *bridge.Subscription) error {
	h := s.w.Header()
	h.Set("Content-Type", s.f.contentType())
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	h.Set("X-Content-Type-Options", "nosniff")
	if s.requestID != "" {
		h.Set(httpx.RequestIDHeader, s.requestID)
	}
	// The server's ReadTimeout and WriteTimeout would cut the stream at a
	// fixed age; writes get a rolling deadline instead.
	_ = s.rc.SetReadDeadline(time.Time{}) // unsupported only by writers without deadlines
	defer s.clearDeadline()
	s.w.WriteHeader(http.StatusOK)
	if err := s.flush(); err != nil {
		return nil
	}
	for {
		d, err := s.next(ctx, sub)
		switch {
		case ctx.Err() != nil:
			cause := context.Cause(ctx)
			if errors.Is(cause, errShuttingDown) || errors.Is(cause, errCredentialsExpired) {
				s.end(cause)
				return cause
			}
			return nil // the client left
		case errors.Is(err, context.DeadlineExceeded):
			s.f.heartbeat(&s.buf)
		case err != nil:
			s.end(err) // the subscription ended: consumer deleted, NATS gone
			return err
		default:
			id := strconv.FormatUint(d.StreamSeq, 10) + "." + strconv.FormatUint(d.ConsumerSeq, 10)
			if err := s.f.message(&s.buf, id, delivery(s.requestID, d)); err != nil {
				s.end(err)
				return err
			}
		}
		if err := s.flush(); err != nil {
			return nil // the client left or stopped reading
		}
	}
}

// next waits for a delivery, at most until a heartbeat is due
// (context.DeadlineExceeded).
func (s *stream) next(ctx context.Context, sub *bridge.Subscription) (*bridge.Delivery, error) {
	if s.h.heartbeat <= 0 {
		return sub.Next(ctx)
	}
	bctx, cancel := context.WithDeadline(ctx, s.lastWrite.Add(s.h.heartbeat))
	defer cancel()
	return sub.Next(bctx)
}

// end writes the final error object.
func (s *stream) end(err error) {
	if e := s.f.end(&s.buf, httpx.Envelope{RequestID: s.requestID, Error: httpx.Classify(err)}); e != nil {
		s.buf.Reset()
		return
	}
	_ = s.flush() // the stream ends either way
}

// flush writes the buffer and flushes it to the client, within the write
// timeout.
func (s *stream) flush() error {
	s.extendDeadline()
	if s.buf.Len() > 0 {
		_, err := s.w.Write(s.buf.Bytes())
		s.buf.Reset()
		if err != nil {
			return err
		}
	}
	s.lastWrite = time.Now()
	return s.rc.Flush()
}

// extendDeadline moves the write deadline to a write timeout from now,
// when less than half of it is left.
func (s *stream) extendDeadline() {
	if s.noDeadlines {
		return
	}
	now := time.Now()
	if s.deadline.Sub(now) > s.h.writeTimeout/2 {
		return
	}
	s.deadline = now.Add(s.h.writeTimeout)
	if err := s.rc.SetWriteDeadline(s.deadline); err != nil {
		s.noDeadlines = true
	}
}

// clearDeadline leaves no deadline of ours on a connection that may serve
// further requests (HTTP/1.1 keep-alive).
func (s *stream) clearDeadline() {
	if !s.noDeadlines && !s.deadline.IsZero() {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}
