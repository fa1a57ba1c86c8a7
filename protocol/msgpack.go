package protocol

import (
	"bytes"
	"maps"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// MsgpackCodec implements [SubprotocolMsgpack]: one msgpack map per
// binary message, with the same keys as JSON; "data" is bin, never base64.
//
// Encoding is deterministic: keys in [Frame] order, zero fields omitted,
// header keys sorted, integers in their smallest msgpack form, strings as
// str, payloads as bin. Decoding is strict: the message must be exactly
// one map (no trailing bytes); string fields must be str with valid UTF-8,
// "data" must be bin, integer fields any msgpack integer that fits (no
// negative sequence numbers), booleans bool; nil stands for an absent
// field. Unknown keys are skipped, so their values must only be
// well-formed (no ext types, at most 16 levels deep). Every length prefix
// is checked against the bytes that remain before anything is allocated.
// The zero value is ready to use.
type MsgpackCodec struct{}

// Name returns [SubprotocolMsgpack].
func (MsgpackCodec) Name() string { return SubprotocolMsgpack }

// Binary returns true: msgpack frames travel in binary messages.
func (MsgpackCodec) Binary() bool { return true }

// Encode returns f as one msgpack map.
func (MsgpackCodec) Encode(f *Frame) ([]byte, error) {
	if err := encodeTypeError(f); err != nil {
		return nil, err
	}
	return encodeFrame(f, appendMsgpackFrame, msgpackFrameSize), nil
}

// encodeFrame returns what appendFrame appends for f, at its exact size:
// a small frame is built in a pooled buffer and copied out, a large one
// (data over 32 KiB) in a buffer of size's estimate.
func encodeFrame(f *Frame, appendFrame func([]byte, *Frame) []byte, size func(*Frame) int) []byte {
	if len(f.Data) > 32<<10 {
		return appendFrame(make([]byte, 0, size(f)), f)
	}
	bp := frameBuffers.Get().(*[]byte)
	b := appendFrame((*bp)[:0], f)
	out := bytes.Clone(b)
	if cap(b) <= 64<<10 {
		*bp = b
		frameBuffers.Put(bp)
	}
	return out
}

var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Decode parses one msgpack frame.
func (MsgpackCodec) Decode(b []byte) (*Frame, error) {
	if id, typ, err := checkMsgpackFrame(b); err != nil {
		return nil, &DecodeError{Codec: SubprotocolMsgpack, Kind: ErrMalformed, ID: id, Type: typ, Err: err}
	}
	return decodeCheckedMsgpack(b)
}

// decodeCheckedMsgpack decodes a frame checkMsgpackFrame accepted.
func decodeCheckedMsgpack(b []byte) (*Frame, error) {
	f, err := decodeMsgpackFrame(b)
	if err != nil {
		// Unreachable after checkMsgpackFrame, short of a bug in the check.
		return nil, &DecodeError{Codec: SubprotocolMsgpack, Kind: ErrMalformed, Err: err}
	}
	if err := checkType(SubprotocolMsgpack, f); err != nil {
		return nil, err
	}
	return f, nil
}

var _ msgpack.CustomEncoder = Header(nil)

// EncodeMsgpack writes h as a map with sorted keys: msgpack/v5 sorts only
// a few map types itself, and golden frames must be byte-exact.
func (h Header) EncodeMsgpack(enc *msgpack.Encoder) error {
	if h == nil {
		return enc.EncodeNil()
	}
	if err := enc.EncodeMapLen(len(h)); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if err := enc.EncodeString(k); err != nil {
			return err
		}
		vals := h[k]
		if vals == nil {
			if err := enc.EncodeNil(); err != nil {
				return err
			}
			continue
		}
		if err := enc.EncodeArrayLen(len(vals)); err != nil {
			return err
		}
		for _, v := range vals {
			if err := enc.EncodeString(v); err != nil {
				return err
			}
		}
	}
	return nil
}
