package protocol

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxHeaders is the most header keys a publish frame may carry.
const MaxHeaders = 256

// MaxTokenLen bounds an auth frame's token.
const MaxTokenLen = 8 << 10

// Validate checks that f carries what its type requires: required fields
// present, ids at most [MaxIDLen] bytes, no negative durations or limits,
// well-formed header keys and values. It returns an *Error with code
// bad_request whose message names the field, or unknown_frame_type.
//
// It does not check names and subjects against JetStream's rules (the
// bridge does, answering invalid_name / invalid_subject), nor whether the
// type may travel in the direction it came ([FrameType.FromClient]).
// Fields that the type does not use are ignored, not rejected.
func (f *Frame) Validate() error {
	v := validator{t: f.Type}
	switch f.Type {
	case TypeSubscribe:
		v.id(f.ID, true)
		v.id2("sub", f.Sub, true)
		if f.Subject != "" { // live: a subject, no consumer
			if f.Stream != "" || f.Consumer != "" {
				v.fail("subject", "names a live subscription: it goes without stream and consumer")
			}
			n := 0
			for _, set := range []bool{f.FromSeq > 0, f.Since != 0, f.Last != 0} {
				if set {
					n++
				}
			}
			if n > 1 {
				v.fail("from_seq", "since and last are exclusive: recover from one position")
			}
			v.nonNegative("since", f.Since)
			v.nonNegative("last", int64(f.Last))
			break
		}
		v.required("stream", f.Stream)
		v.required("consumer", f.Consumer)
		v.nonNegative("max_inflight", int64(f.MaxInflight))
	case TypeUnsubscribe:
		v.id(f.ID, true)
		v.id2("sub", f.Sub, true)
	case TypePublish:
		v.id(f.ID, true)
		v.required("subject", f.Subject)
		v.headers(f.Headers)
	case TypeAck, TypeNak, TypeTerm, TypeProgress:
		v.id(f.ID, false)
		v.required("stream", f.Stream)
		v.required("consumer", f.Consumer)
		v.positive("stream_seq", f.StreamSeq)
		v.positive("consumer_seq", f.ConsumerSeq)
		v.nonNegative("delay", int64(f.Delay))
	case TypePing, TypePong, TypeOK:
		v.id(f.ID, true)
	case TypeAuth:
		v.id(f.ID, true)
		v.required("token", f.Token)
		if len(f.Token) > MaxTokenLen {
			v.fail("token", "is longer than %d bytes", MaxTokenLen)
		}
	case TypeHello:
		v.positive("version", uint64(max(f.Version, 0)))
		v.required("session", f.Session)
		v.positive("max_frame", uint64(max(f.MaxFrame, 0)))
		v.nonNegative("max_subs", int64(f.MaxSubs))
		v.nonNegative("heartbeat", int64(f.Heartbeat))
	case TypeError:
		v.id(f.ID, false)
		v.status(f.Status)
		v.required("reason", f.Reason)
		v.nonNegative("retry_after", int64(f.RetryAfter))
	case TypeMsg:
		v.id2("sub", f.Sub, true)
		v.required("subject", f.Subject)
		if f.Consumer == "" && f.ConsumerSeq == 0 {
			break // a live message: stream and stream_seq when a stream holds it
		}
		v.required("stream", f.Stream)
		v.required("consumer", f.Consumer)
		v.positive("stream_seq", f.StreamSeq)
		v.positive("consumer_seq", f.ConsumerSeq)
	case TypeClosed:
		v.id2("sub", f.Sub, true)
		v.status(f.Status)
		v.required("reason", f.Reason)
	default:
		return NewError(CodeUnknownFrameType, fmt.Sprintf("unknown frame type %q", f.Type))
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

// ValidateFromClient is what a server runs on every decoded client frame:
// a type the server sends (hello, msg, ...) is answered with
// unknown_frame_type like an unknown one; otherwise [Frame.Validate].
func (f *Frame) ValidateFromClient() error {
	if !f.Type.FromClient() {
		return NewError(CodeUnknownFrameType, fmt.Sprintf("frame type %q is not sent by clients", f.Type))
	}
	return f.Validate()
}

// validator keeps the first problem found.
type validator struct {
	t   FrameType
	err *Error
}

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = NewError(CodeBadRequest, fmt.Sprintf("%s: field %q ", v.t, field)+fmt.Sprintf(format, args...))
	}
}

func (v *validator) required(field, s string) {
	if s == "" {
		v.fail(field, "is required")
	}
}

func (v *validator) id(s string, required bool) { v.id2("id", s, required) }

func (v *validator) id2(field, s string, required bool) {
	switch {
	case s == "" && required:
		v.fail(field, "is required")
	case len(s) > MaxIDLen:
		v.fail(field, "is longer than %d bytes", MaxIDLen)
	}
}

func (v *validator) positive(field string, n uint64) {
	if n == 0 {
		v.fail(field, "is required and must be at least 1")
	}
}

// status checks an error's "code": an HTTP error status.
func (v *validator) status(code int) {
	if code < 400 || code > 599 {
		v.fail("code", "must be an HTTP error status (400-599)")
	}
}

func (v *validator) nonNegative(field string, n int64) {
	if n < 0 {
		v.fail(field, "must not be negative")
	}
}

// headers checks keys as NATS needs them (printable ASCII, no ':' or
// space) and values without CR or LF, which would break the NATS header
// block.
func (v *validator) headers(h Header) {
	if len(h) > MaxHeaders {
		v.fail("headers", "has more than %d keys", MaxHeaders)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(h)) { // sorted: the first problem is always the same one
		vals := h[k]
		if k == "" {
			v.fail("headers", "has an empty key")
			return
		}
		for i := range len(k) {
			if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
				v.fail("headers", "key %q: only printable ASCII without ':' or space", k)
				return
			}
		}
		for _, val := range vals {
			if strings.ContainsAny(val, "\r\n") {
				v.fail("headers", "key %q: value contains CR or LF", k)
				return
			}
		}
	}
}
