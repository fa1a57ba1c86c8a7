package protocol

import (
	"bytes"
	"fmt"
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
	e := mpEncoders.Get().(*mpEncoder)
	defer mpEncoders.Put(e)
	e.buf.Reset()
	if err := encodeFrame(e.enc, f); err != nil {
		return nil, fmt.Errorf("protocol: encode msgpack: %w", err)
	}
	return bytes.Clone(e.buf.Bytes()), nil
}

// mpEncoder is an encoder configured for deterministic output, with its
// buffer; pooled because msgpack/v5 encoders are costly to set up.
type mpEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

var mpEncoders = sync.Pool{New: func() any {
	e := new(mpEncoder)
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.SetSortMapKeys(true) // Header sorts itself; this covers any future map
	e.enc.UseCompactInts(true)
	return e
}}

// Decode parses one msgpack frame.
func (MsgpackCodec) Decode(b []byte) (*Frame, error) {
	if id, typ, err := checkMsgpackFrame(b); err != nil {
		return nil, &DecodeError{Codec: SubprotocolMsgpack, Kind: ErrMalformed, ID: id, Type: typ, Err: err}
	}
	f := new(Frame)
	d := mpDecoders.Get().(*mpDecoder)
	defer mpDecoders.Put(d)
	d.r.Reset(b)
	d.dec.Reset(&d.r)
	err := d.dec.Decode(f)
	d.r.Reset(nil) // do not keep the caller's bytes alive in the pool
	if err != nil {
		// Unreachable after checkMsgpackFrame, short of a bug in the check.
		return nil, &DecodeError{Codec: SubprotocolMsgpack, Kind: ErrMalformed, ID: f.ID, Type: f.Type, Err: err}
	}
	if err := checkType(SubprotocolMsgpack, f); err != nil {
		return nil, err
	}
	return f, nil
}

// mpDecoder is a pooled decoder reading from its own bytes.Reader.
type mpDecoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

var mpDecoders = sync.Pool{New: func() any {
	d := new(mpDecoder)
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

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
