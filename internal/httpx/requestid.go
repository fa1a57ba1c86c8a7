package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// RequestIDHeader carries a request's id in both directions: a client may
// choose it, and every answer echoes the one used.
const RequestIDHeader = "Httpmq-Request-ID"

// MaxRequestIDLen bounds a client-chosen request id. Longer ids, or ids
// with characters outside [A-Za-z0-9._~:/+=@-], are replaced by a
// generated one.
const MaxRequestIDLen = 128

// RequestID returns the request id [Wrap] stored in ctx, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// WithRequestID returns a context carrying id as the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, &requestInfo{id: id})
}

// requestIDFrom picks the client's id when it is acceptable, else makes
// a new one.
func requestIDFrom(header string) string {
	if validRequestID(header) {
		return header
	}
	return NewRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '~' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@' || c == '-':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns a random UUID (version 4), the form the original
// httpmq generated.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
