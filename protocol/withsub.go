package protocol

import (
	"bytes"
	"errors"
)

// WithSub returns encoded, a frame c encoded without a subscription id,
// with sub as its id: the frame c encodes when Sub is set, but for the
// order of its fields (sub comes first). A message delivered to many
// subscriptions is encoded once and given each one's id by WithSub,
// which copies the bytes instead of encoding them again.
func WithSub(c Codec, encoded []byte, sub string) ([]byte, error) {
	if sub == "" { // omitted, as by Encode
		return encoded, nil
	}
	if c.Binary() {
		r := mpReader{b: encoded}
		n, ok := r.mapLen()
		if !ok {
			return nil, errors.New("protocol: WithSub: not a msgpack map")
		}
		out := make([]byte, 0, len(encoded)+len(sub)+16)
		out = mpAppendMapLen(out, n+1)
		out = mpAppendStr(out, "sub")
		out = mpAppendStr(out, sub)
		return append(out, encoded[r.pos:]...), nil
	}
	if len(encoded) < 2 || encoded[0] != '{' {
		return nil, errors.New("protocol: WithSub: not a JSON object")
	}
	out := make([]byte, 0, len(encoded)+len(sub)+16)       // grows for escapes
	out = appendJSONString(append(out, `{"sub":`...), sub) // as JSONCodec writes strings
	if rest := bytes.TrimLeft(encoded[1:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, encoded[1:]...), nil
}
