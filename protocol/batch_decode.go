package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"unicode"
)

// ErrTooManyMessages is returned by [DecodeBatch] for a body of more
// messages than its limit.
var ErrTooManyMessages = errors.New("too many messages in one batch")

// DecodeBatch reads the body of a batch publish (POST /v1/data/publish):
// a JSON array of [BatchMessage] objects, or the objects one after the
// other (NDJSON, or with no separator at all), at most max of them. It
// accepts what encoding/json's Decoder with DisallowUnknownFields did
// (TestDecodeBatchMatchesLibrary and FuzzDecodeBatchMatchesLibrary hold
// it to it), without reflection: keys match case-insensitively, of a key
// given twice the last value counts, null stands for an absent field and
// for a message of none (which then fails on its own, having no
// subject). It refuses the whole body, naming the message at fault, for
// malformed JSON, a field of the wrong type, an unknown field, anything
// but objects, no messages; with [ErrTooManyMessages] past max.
func DecodeBatch(body []byte, max int) ([]BatchMessage, error) {
	text := bytes.TrimSpace(body)
	if len(text) == 0 {
		return nil, errors.New("the body is empty; send a JSON array of messages, or one message object per line")
	}
	r := jsonReader{b: text}
	lead := len(body) - len(bytes.TrimLeftFunc(body, unicode.IsSpace)) // for offsets in body
	var msgs []BatchMessage
	add := func() error {
		var m BatchMessage
		if !r.batchMessage(&m) || r.err != nil {
			return r.batchError(len(msgs), lead)
		}
		if len(msgs) == max {
			return fmt.Errorf("%w: the limit is %d messages", ErrTooManyMessages, max)
		}
		msgs = append(msgs, m)
		return nil
	}
	if text[0] == '[' {
		// Each element is a value of its own: its depth counts from 1, as
		// encoding/json's Decoder reads it.
		r.pos++
		r.space()
		if r.peek() == ']' {
			r.pos++
		} else {
			for {
				if err := add(); err != nil {
					return nil, err
				}
				r.space()
				if c := r.peek(); c == ',' {
					r.pos++
					r.space()
					continue
				} else if c == ']' {
					r.pos++
					break
				}
				r.fail()
				return nil, r.batchError(len(msgs), lead)
			}
		}
		if r.space(); r.pos < len(r.b) {
			return nil, fmt.Errorf("unexpected data after the array at offset %d", lead+r.pos)
		}
	} else {
		for r.space(); r.pos < len(r.b); r.space() {
			if err := add(); err != nil {
				return nil, err
			}
		}
	}
	if len(msgs) == 0 {
		return nil, errors.New("no messages")
	}
	return msgs, nil
}

// batchError describes the syntax or field error of message i.
func (r *jsonReader) batchError(i, lead int) error {
	if r.syntax {
		return fmt.Errorf("message %d: invalid JSON at offset %d", i, lead+r.offset)
	}
	return fmt.Errorf("message %d: %w", i, r.err)
}

// batchMessage reads one message of a batch into m: an object, or null.
// A value of another kind is a type error.
func (r *jsonReader) batchMessage(m *BatchMessage) bool {
	switch r.peek() {
	case '{':
		return r.members(func(key []byte) bool { return r.batchField(m, key) })
	case 'n':
		return r.literal("null")
	}
	ok := r.other("object") // a syntax error, or else a type error
	if ok {
		r.err = errors.New("a message must be an object")
	}
	return ok
}

// batchField reads the value of key into m. A key that is not a field's
// name is looked up again without case, as encoding/json does; an
// unknown key is an error.
func (r *jsonReader) batchField(m *BatchMessage, key []byte) bool {
	r.key = key
	switch string(key) { // does not allocate
	case "subject":
		return r.str(&m.Subject)
	case "data":
		return r.str(&m.Data)
	case "headers":
		return r.header((*Header)(&m.Headers))
	case "msg_id":
		return r.str(&m.MsgID)
	}
	if name := foldedName(key, batchFieldNames); name != nil {
		return r.batchField(m, name)
	}
	if r.err == nil {
		r.err = fmt.Errorf("unknown field %q", key)
	}
	return r.skip()
}

var batchFieldNames = [][]byte{[]byte("subject"), []byte("data"), []byte("headers"), []byte("msg_id")}
