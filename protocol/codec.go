package protocol

import (
	"errors"
	"fmt"
)

// WebSocket subprotocol names, one per framing. The client offers one or
// both in Sec-WebSocket-Protocol; the server selects one.
const (
	// SubprotocolJSON: each frame is one JSON object in a text message.
	SubprotocolJSON = "httpmq.v1.json"
	// SubprotocolMsgpack: each frame is one msgpack map in a binary message.
	SubprotocolMsgpack = "httpmq.v1.msgpack"
)

// Subprotocols returns the subprotocols the server accepts, in its order
// of preference: when a client offers both, JSON wins, so a client that
// wants msgpack offers only msgpack. The slice is new on every call.
func Subprotocols() []string {
	return []string{SubprotocolJSON, SubprotocolMsgpack}
}

// Codec turns frames into WebSocket message payloads and back.
// Implementations are stateless and safe for concurrent use.
type Codec interface {
	// Name is the subprotocol this codec implements.
	Name() string
	// Binary reports whether frames travel in binary messages (true) or
	// text messages (false). A message of the other kind is a protocol
	// error (close 1002).
	Binary() bool
	// Encode returns f's encoding. It fails only for a frame whose Type
	// is not a known frame type.
	Encode(f *Frame) ([]byte, error)
	// Decode parses one message payload. It never panics; on bad input it
	// returns a *DecodeError. It checks syntax and field types, not
	// required fields: call [Frame.Validate] next.
	Decode(b []byte) (*Frame, error)
}

var (
	_ Codec = JSONCodec{}
	_ Codec = MsgpackCodec{}
)

// CodecFor returns the codec for a subprotocol name from [Subprotocols].
func CodecFor(subprotocol string) (Codec, bool) {
	switch subprotocol {
	case SubprotocolJSON:
		return JSONCodec{}, true
	case SubprotocolMsgpack:
		return MsgpackCodec{}, true
	}
	return nil, false
}

// MaxIDLen is the longest command id and subscription id, in bytes.
const MaxIDLen = 64

// Sentinels for decoding failures, to test with errors.Is.
var (
	// ErrMalformed: the bytes are not one well-formed frame (bad syntax,
	// wrong field type, trailing data, nesting too deep, invalid UTF-8).
	ErrMalformed = errors.New("protocol: malformed frame")
	// ErrUnknownFrameType: the frame is well-formed but its type is not
	// one of this protocol version. Encode wraps it too.
	ErrUnknownFrameType = errors.New("protocol: unknown frame type")
)

// DecodeError reports why a message could not be decoded. errors.Is
// matches it against [ErrMalformed] or [ErrUnknownFrameType] (Kind) and
// the underlying Err; [AsError] turns it into a wire *Error with code
// malformed_frame or unknown_frame_type, ready for an error frame.
type DecodeError struct {
	Codec string    // subprotocol name
	Kind  error     // ErrMalformed or ErrUnknownFrameType
	Type  FrameType // the frame's type, if it could be read
	// ID is the frame's "id", if it could be read, so the error reply can
	// name the command. Best effort: empty when unknown.
	ID  string
	Err error // the underlying cause, may be nil
}

func (e *DecodeError) Error() string {
	s := e.Kind.Error()
	if e.Kind == ErrUnknownFrameType {
		s += fmt.Sprintf(" %q", e.Type)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + " (" + e.Codec + ")"
}

// Unwrap returns Kind and Err.
func (e *DecodeError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// As lets [AsError] and errors.As find a wire *Error in a DecodeError.
func (e *DecodeError) As(target any) bool {
	t, ok := target.(**Error)
	if !ok {
		return false
	}
	*t = e.WireError()
	return true
}

// WireError returns the error to report to the peer.
func (e *DecodeError) WireError() *Error {
	if e.Kind == ErrUnknownFrameType {
		if e.Type == "" {
			return NewError(CodeUnknownFrameType, `frame has no "type"`)
		}
		return NewError(CodeUnknownFrameType, fmt.Sprintf("unknown frame type %q", e.Type))
	}
	msg := "malformed frame"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return NewError(CodeMalformedFrame, msg)
}

// checkType returns the error for a decoded frame whose type is unknown.
func checkType(codec string, f *Frame) error {
	if f.Type.Known() {
		return nil
	}
	return &DecodeError{Codec: codec, Kind: ErrUnknownFrameType, Type: f.Type, ID: f.ID}
}

// encodeTypeError checks a frame before encoding.
func encodeTypeError(f *Frame) error {
	if f == nil {
		return errors.New("protocol: encode nil frame")
	}
	if !f.Type.Known() {
		return fmt.Errorf("protocol: encode: %w %q", ErrUnknownFrameType, f.Type)
	}
	return nil
}
