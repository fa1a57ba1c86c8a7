package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/httpmq/httpmq/protocol"
)

// DefaultMaxBodyBytes bounds a request body when [DecodeOptions.MaxBytes]
// is zero.
const DefaultMaxBodyBytes = 1 << 20

// AppendAll appends what r holds, up to its end, to b and returns it: with
// b's capacity sized for what r holds (a request's Content-Length, a
// reused buffer), nothing is allocated, where io.ReadAll starts at 512
// bytes and grows.
func AppendAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// DecodeOptions tune [DecodeJSON]. The zero value is a required body of at
// most [DefaultMaxBodyBytes].
type DecodeOptions struct {
	// MaxBytes bounds the body; a longer one fails with body_too_large
	// (413). Zero means DefaultMaxBodyBytes.
	MaxBytes int64
	// AllowEmpty accepts an empty (or all-whitespace) body and leaves dst
	// as it was. By default an empty body is a bad_request.
	AllowEmpty bool
}

// DecodeJSON reads r's body as one JSON value into dst, whatever the
// request's Content-Type says (the original httpmq SDKs send JSON as
// application/octet-stream). It is strict: unknown fields, malformed
// JSON, a wrong type for a field and data after the value are each a
// bad_request (400) whose detail says what and where. The errors it
// returns are *protocol.Error, ready for [WriteError].
func DecodeJSON(r *http.Request, dst any, opts DecodeOptions) error {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		return BodyTooLarge(limit)
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return BodyTooLarge(tooBig.Limit)
			}
			if e, ok := protocol.AsError(err); ok { // request_timeout, from WithBodyTimeout
				return e
			}
			return NewError(protocol.CodeBadRequest, "could not read the request body", err.Error())
		}
		if int64(len(b)) > limit {
			return BodyTooLarge(limit)
		}
		body = b
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if opts.AllowEmpty {
			return nil
		}
		return NewError(protocol.CodeBadRequest, "request body is empty", "a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return NewError(protocol.CodeBadRequest, "request body is not valid JSON for this route", describe(err, body, dec))
	}
	if _, err := dec.Token(); err != io.EOF {
		return NewError(protocol.CodeBadRequest, "request body is not valid JSON for this route",
			fmt.Sprintf("unexpected data after the JSON value at offset %d", dec.InputOffset()))
	}
	return nil
}

// describe turns a json error into a detail naming the position.
func describe(err error, body []byte, dec *json.Decoder) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return fmt.Sprintf("%v (line %d, column %d, offset %d)", syn, line, col, syn.Offset)
	case errors.As(err, &typ):
		line, col := position(body, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s (line %d, column %d, offset %d)",
			field, typ.Type, typ.Value, line, col, typ.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("unexpected end of JSON at offset %d", len(body))
	}
	// Unknown fields and custom unmarshalers: the message names the field.
	return fmt.Sprintf("%v (near offset %d)", err, dec.InputOffset())
}

// position converts a byte offset into 1-based line and column.
func position(body []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(body)))
	before := body[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1
	}
	return line, col
}
