package httpx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/httpmq/httpmq/internal/auth"
)

// Options configure [Wrap]. The zero value is usable.
type Options struct {
	// Logger receives the access log and internal errors. Default
	// slog.Default().
	Logger *slog.Logger
	// Gate identifies every request once ([auth.Gate.Identify]); handlers
	// then call Gate.Check. Nil allows everyone as anonymous.
	Gate *auth.Gate
}

// Wrap puts h behind the middleware every httpmq REST request passes:
//
//   - the request id: the client's Httpmq-Request-ID when acceptable
//     (see [MaxRequestIDLen]), else a generated one; stored in the
//     context ([RequestID]) and echoed in the answer's header and body;
//   - a request-scoped logger carrying the id ([Logger]);
//   - one access-log line per request (method, path, status, bytes,
//     duration, request id, identity): debug for success, info for client
//     errors, warn for server errors; never the query or headers, which
//     may carry credentials;
//   - identity: Gate.Identify once; a failure answers 401 unauthorized
//     (or what [Classify] makes of the error) without calling h.
//
// The ResponseWriter h sees keeps Flush and Hijack, and ResponseController
// reaches the original through Unwrap, so streaming handlers work.
func Wrap(h http.Handler, opts Options) http.Handler {
	base := opts.Logger
	if base == nil {
		base = slog.Default()
	}
	gate := opts.Gate
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestIDFrom(r.Header.Get(RequestIDHeader)), base: base}
		ctx := context.WithValue(r.Context(), requestKey{}, info)
		rec := &recorder{ResponseWriter: w}
		who, err := gate.Who(r)
		if err == nil {
			ctx = auth.WithSharedIdentity(ctx, who)
		}
		// One copy of the request for the middleware's context: a request
		// costs what its copies cost (REST publishes run this).
		r = r.WithContext(ctx)
		defer func() {
			level := slog.LevelDebug
			switch {
			case rec.status >= 500:
				level = slog.LevelWarn
			case rec.status >= 400:
				level = slog.LevelInfo
			}
			if !base.Enabled(ctx, level) {
				return
			}
			key := ""
			if who != nil {
				key = who.Key()
			}
			// The path only: queries may carry tokens (?access_token=).
			base.Log(ctx, level, "http request", "request_id", info.id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start), "identity", key)
		}()
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) && Classify(err).HTTPStatus() == http.StatusInternalServerError {
				err = fmt.Errorf("%w: %v", auth.ErrUnauthenticated, err)
			}
			WriteError(rec, r, err)
			return
		}
		h.ServeHTTP(rec, r)
	})
}

// requestInfo is what [Wrap] keeps of a request in its context: its id,
// and the logger that [Logger] labels with it when something is logged.
type requestInfo struct {
	id   string
	base *slog.Logger
}

type requestKey struct{}

// Logger returns the request-scoped logger of ctx: the one [Wrap] was
// given, labelled with the request id; or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	info, ok := ctx.Value(requestKey{}).(*requestInfo)
	if !ok {
		return slog.Default()
	}
	base := info.base
	if base == nil {
		base = slog.Default()
	}
	return base.With("request_id", info.id)
}

// recorder notes the status and size of an answer for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(status int) {
	if rw.status == 0 {
		rw.status = status
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher when the underlying writer does.
func (rw *recorder) Flush() {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer does.
func (rw *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rw.ResponseWriter).Hijack()
	if err == nil && rw.status == 0 {
		rw.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

// Unwrap lets http.ResponseController reach the original writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// written reports whether w (as wrapped by Wrap) has sent its header.
func written(w http.ResponseWriter) bool {
	rw, ok := w.(*recorder)
	return ok && rw.status != 0
}
