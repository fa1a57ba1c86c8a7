package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// JSONCodec implements [SubprotocolJSON]: one JSON object per text
// message, payloads base64 (standard alphabet, padded) in "data".
//
// Encoding is deterministic: fields in [Frame] order, zero fields omitted,
// header keys sorted, no HTML escaping, no trailing newline. Decoding
// ignores unknown fields and rejects wrong field types, anything but one
// object, and trailing data. (Go's decoder also matches field names
// case-insensitively and takes the last of duplicate keys; clients must
// not rely on either.) The zero value is ready to use.
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

// Decode parses one JSON frame.
func (JSONCodec) Decode(b []byte) (*Frame, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, jsonError(errors.New("not a JSON object"), nil)
	}
	f := new(Frame)
	if err := json.Unmarshal(b, f); err != nil {
		return nil, jsonError(err, f)
	}
	if err := checkType(SubprotocolJSON, f); err != nil {
		return nil, err
	}
	return f, nil
}

// jsonError turns an encoding/json error into a *DecodeError with a
// message that names fields as the protocol does.
func jsonError(err error, f *Frame) error {
	de := &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed}
	if f != nil {
		// encoding/json keeps decoding after a type error, so the id and
		// type are usually there for the error reply.
		de.ID, de.Type = f.ID, f.Type
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		de.Err = fmt.Errorf("field %q: %s is not a valid %s", typeErr.Field, typeErr.Value, jsonKind(typeErr.Type))
	case errors.As(err, &syntaxErr):
		de.Err = fmt.Errorf("invalid JSON at offset %d", syntaxErr.Offset)
	default:
		de.Err = err
	}
	return de
}

// jsonKind names a Go type the way the protocol documentation does.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Uint64:
		return "unsigned integer"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64 string"
		}
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}
