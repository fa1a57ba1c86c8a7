package protocol

import (
	"bytes"
	"encoding/json"
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
	var id bytes.Buffer
	enc := json.NewEncoder(&id)
	enc.SetEscapeHTML(false) // as JSONCodec
	if err := enc.Encode(sub); err != nil {
		return nil, err
	}
	quoted := bytes.TrimSuffix(id.Bytes(), []byte{'\n'})
	out := make([]byte, 0, len(encoded)+len(quoted)+8)
	out = append(out, `{"sub":`...)
	out = append(out, quoted...)
	if rest := bytes.TrimLeft(encoded[1:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, encoded[1:]...), nil
}
