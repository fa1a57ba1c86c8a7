package protocol

import (
	"bytes"
	"errors"
)

// JSONCodec implements [SubprotocolJSON]: one JSON object per text
// message, payloads base64 (standard alphabet, padded) in "data".
//
// Encoding is deterministic: fields in [Frame] order, zero fields omitted,
// header keys sorted, no HTML escaping, no trailing newline. Decoding
// ignores unknown fields and rejects wrong field types, anything but one
// object, and trailing data. (The decoder also matches field names
// case-insensitively and takes the last of duplicate keys, as Go's
// encoding/json does; clients must not rely on either.) Neither direction
// uses reflection. The zero value is ready to use.
type JSONCodec struct{}

// Name returns [SubprotocolJSON].
func (JSONCodec) Name() string { return SubprotocolJSON }

// Binary returns false: JSON frames travel in text messages.
func (JSONCodec) Binary() bool { return false }

// Encode returns f as one JSON object.
func (JSONCodec) Encode(f *Frame) ([]byte, error) {
	if err := encodeTypeError(f); err != nil {
		return nil, err
	}
	return encodeFrame(f, appendJSONFrame, jsonFrameSize), nil
}

// Decode parses one JSON frame (see decodeJSONFrame for how closely it
// follows encoding/json).
func (JSONCodec) Decode(b []byte) (*Frame, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed, Err: errors.New("not a JSON object")}
	}
	return decodeJSONFrame(b)
}
