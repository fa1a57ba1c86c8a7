package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// Envelope is the shape of every answer (defined in package protocol for
// the server and the Go SDK). Payload fields of a successful answer sit
// beside success and request_id at the top level, as in the original
// httpmq ({"success":true,"stream":{…}}).
type Envelope = protocol.Envelope

// Reply writes a successful answer with the given status. payload is nil
// or a value that marshals to a JSON object (a struct or a map); its
// fields are added after "success" and "request_id". A payload that does
// not marshal to an object is a bug and answers 500.
func Reply(w http.ResponseWriter, r *http.Request, status int, payload any) {
	id := RequestID(r.Context())
	var buf bytes.Buffer
	buf.WriteString(`{"success":true,"request_id":`)
	writeJSONString(&buf, id)
	if payload != nil {
		b, err := marshalPayload(payload)
		if err != nil || len(b) < 2 || b[0] != '{' {
			Logger(r.Context()).Error("answer payload is not a JSON object", "err", err, "type", fmt.Sprintf("%T", payload))
			WriteError(w, r, nil)
			return
		}
		if len(b) > 2 {
			buf.WriteByte(',')
			buf.Write(b[1 : len(b)-1])
		}
	}
	buf.WriteString("}\n")
	write(w, r, status, buf.Bytes())
}

// jsonAppender is a payload that writes its own JSON object, faster than
// json.Marshal's reflection (protocol.BatchPublishResult).
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

func marshalPayload(payload any) ([]byte, error) {
	if a, ok := payload.(jsonAppender); ok {
		return a.AppendJSON(nil)
	}
	return json.Marshal(payload)
}

// OK is Reply with 200.
func OK(w http.ResponseWriter, r *http.Request, payload any) {
	Reply(w, r, http.StatusOK, payload)
}

// WriteError answers err mapped by [Classify], with its HTTP status (the
// same number as the body's "code"), and a Retry-After header (whole seconds, rounded up) when the
// error says when to retry. Internal errors are logged with the real error at error level;
// the client sees only a generic message. A nil err answers internal.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := Classify(err)
	if e == nil {
		e = protocol.NewError(protocol.CodeInternal, "internal error")
	}
	status := e.HTTPStatus()
	if e.RetryAfter > 0 {
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	if _, wire := protocol.AsError(err); e.Code == protocol.CodeInternal && !wire {
		Logger(r.Context()).Error("internal error", "err", err)
	} else if err != nil {
		Logger(r.Context()).Debug("request failed", "code", string(e.Code), "err", err)
	}
	b, merr := json.Marshal(Envelope{RequestID: RequestID(r.Context()), Error: e})
	if merr != nil { // cannot happen: the envelope holds only strings, numbers and bools
		b = []byte(`{"success":false,"error":{"code":500,"reason":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	write(w, r, status, append(b, '\n'))
}

// BodyTooLarge is the error for a request body over limit bytes.
func BodyTooLarge(limit int64) *protocol.Error {
	return NewError(protocol.CodeBodyTooLarge, "request body too large",
		"the limit is "+strconv.FormatInt(limit, 10)+" bytes")
}

// The values of the headers every answer carries, shared by all answers:
// net/http only reads them.
var (
	jsonContentType = []string{"application/json"}
	noSniff         = []string{"nosniff"}
)

func write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h["X-Content-Type-Options"] = noSniff
	if id := RequestID(r.Context()); id != "" {
		h.Set(RequestIDHeader, id)
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		Logger(r.Context()).Debug("writing the answer failed", "err", err)
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	if validRequestID(s) { // the usual case: nothing to escape
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}
