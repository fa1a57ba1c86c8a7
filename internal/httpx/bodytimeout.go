package httpx

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// WithBodyTimeout bounds how long a request may take to send its body:
// d after the request reaches h, reading the body fails with a
// request_timeout (408) [*protocol.Error] that handlers answer as such;
// on HTTP/1.1 the connection then closes, on HTTP/2 only the stream ends.
// It protects both listeners from clients that trickle bodies to hold
// connections and goroutines (slow loris); http.Server.ReadHeaderTimeout
// does the same for headers.
//
// It leaves alone what must live long: requests without a body (REST
// subscriptions, HTTP/1.1 WebSocket upgrades) and HTTP/2 CONNECT, whose
// body is the WebSocket. Once the body has been read to its end the
// deadline no longer matters (net/http lifts it on HTTP/1.1; an HTTP/2
// stream's finished body cannot time out), so a handler may take its
// time to answer. A d of zero or less disables the bound.
func WithBodyTimeout(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 && r.Method != http.MethodConnect {
			if http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, d: d}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody is a request body read under a deadline of d; it says so
// when the deadline passes.
type deadlineBody struct {
	io.ReadCloser
	d time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = NewError(protocol.CodeRequestTimeout, "the request body did not arrive in time",
			"the server reads a body for at most "+b.d.String()+"; nothing was done")
	}
	return n, err
}
