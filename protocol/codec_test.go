package protocol_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

func TestCodecFor(t *testing.T) {
	for _, name := range protocol.Subprotocols() {
		c, ok := protocol.CodecFor(name)
		require.True(t, ok, name)
		assert.Equal(t, name, c.Name())
	}
	assert.Equal(t, []string{"httpmq.v1.json", "httpmq.v1.msgpack"}, protocol.Subprotocols())
	_, ok := protocol.CodecFor("httpmq.v2.json")
	assert.False(t, ok)
	assert.False(t, protocol.JSONCodec{}.Binary())
	assert.True(t, protocol.MsgpackCodec{}.Binary())
}

func TestDecodeJSONRejects(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		kind   error
		wantID string
	}{
		{"empty", ``, protocol.ErrMalformed, ""},
		{"null", `null`, protocol.ErrMalformed, ""},
		{"array", `[{"type":"ping","id":"1"}]`, protocol.ErrMalformed, ""},
		{"not json", `ping`, protocol.ErrMalformed, ""},
		{"truncated", `{"type":"ping","id":"1"`, protocol.ErrMalformed, ""},
		{"trailing garbage", `{"type":"ping","id":"1"}x`, protocol.ErrMalformed, ""},
		{"two objects", `{"type":"ping","id":"1"}{"type":"ping","id":"2"}`, protocol.ErrMalformed, ""},
		{"wrong type for string", `{"type":"ping","id":7}`, protocol.ErrMalformed, ""},
		{"wrong type keeps id", `{"type":"ack","id":"9","stream_seq":"12"}`, protocol.ErrMalformed, "9"},
		{"negative sequence", `{"type":"ack","id":"9","stream_seq":-1}`, protocol.ErrMalformed, "9"},
		{"float for integer", `{"type":"subscribe","id":"9","max_inflight":1.5}`, protocol.ErrMalformed, "9"},
		{"bad base64", `{"type":"publish","id":"9","subject":"a","data":"***"}`, protocol.ErrMalformed, "9"},
		{"headers not lists", `{"type":"publish","id":"9","subject":"a","headers":{"k":"v"}}`, protocol.ErrMalformed, "9"},
		{"error code a string", `{"type":"error","id":"9","code":"stream_not_found"}`, protocol.ErrMalformed, "9"},
		{"missing type", `{"id":"1"}`, protocol.ErrUnknownFrameType, "1"},
		{"unknown type", `{"type":"subscribe2","id":"1"}`, protocol.ErrUnknownFrameType, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := protocol.JSONCodec{}.Decode([]byte(tc.in))
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, tc.kind)
			var de *protocol.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.wantID, de.ID)
			we, ok := protocol.AsError(err)
			require.True(t, ok)
			if tc.kind == protocol.ErrUnknownFrameType {
				assert.Equal(t, protocol.CodeUnknownFrameType, we.Code)
			} else {
				assert.Equal(t, protocol.CodeMalformedFrame, we.Code)
			}
			assert.NotContains(t, we.Message, "Go struct", "messages speak protocol, not Go")
		})
	}
}

func TestDecodeJSONAccepts(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want *protocol.Frame
	}{
		{"unknown fields ignored", `{"type":"ping","id":"1","future":{"x":[1,2]}}`, &protocol.Frame{Type: protocol.TypePing, ID: "1"}},
		{"surrounding whitespace", " \n{\"type\":\"ping\",\"id\":\"1\"}\n", &protocol.Frame{Type: protocol.TypePing, ID: "1"}},
		{"null means absent", `{"type":"ping","id":"1","sub":null}`, &protocol.Frame{Type: protocol.TypePing, ID: "1"}},
		{"explicit zero values", `{"type":"ok","id":"1","seq":0,"duplicate":false}`, &protocol.Frame{Type: protocol.TypeOK, ID: "1"}},
		{"server frame decodes too", `{"type":"pong","id":"1"}`, &protocol.Frame{Type: protocol.TypePong, ID: "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := protocol.JSONCodec{}.Decode([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, f)
		})
	}
}

// mp builds msgpack bytes from hex-ish pieces for readability.
func mp(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case rune:
			b = append(b, byte(v))
		case string: // as fixstr
			b = append(b, 0xa0|byte(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

func TestDecodeMsgpackRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		kind error
	}{
		{"empty", nil, protocol.ErrMalformed},
		{"nil", mp(0xc0), protocol.ErrMalformed},
		{"array not map", mp(0x91, "ping"), protocol.ErrMalformed},
		{"truncated map", mp(0x82, "type", "ping"), protocol.ErrMalformed},
		{"trailing garbage", mp(0x82, "type", "ping", "id", "1", 0x00), protocol.ErrMalformed},
		{"int key", mp(0x81, 0x01, "ping"), protocol.ErrMalformed},
		{"int for string", mp(0x82, "type", "ping", "id", 0x07), protocol.ErrMalformed},
		{"bin for string", mp(0x82, "type", "ping", "id", 0xc4, 1, '1'), protocol.ErrMalformed},
		{"str for data", mp(0x84, "type", "publish", "id", "1", "subject", "a", "data", "xy"), protocol.ErrMalformed},
		{"negative fixint for seq", mp(0x82, "type", "ack", "stream_seq", 0xff), protocol.ErrMalformed},
		{"negative int8 for seq", mp(0x82, "type", "ack", "stream_seq", 0xd0, 0x80), protocol.ErrMalformed},
		{"uint64 overflows int64", mp(0x82, "type", "msg", "time", 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), protocol.ErrMalformed},
		{"float for integer", mp(0x82, "type", "subscribe", "max_inflight", 0xca, 0, 0, 0, 0), protocol.ErrMalformed},
		{"error code a string", mp(0x82, "type", "error", "code", "stream_not_found"), protocol.ErrMalformed},
		{"invalid utf8", mp(0x82, "type", "ping", "id", []byte{0xa1, 0xff}), protocol.ErrMalformed},
		{"huge map length", mp(0xdf, 0xff, 0xff, 0xff, 0xff, "type", "ping"), protocol.ErrMalformed},
		{"huge str length", mp(0x81, "type", 0xdb, 0x7f, 0xff, 0xff, 0xff, 'p'), protocol.ErrMalformed},
		{"huge headers", mp(0x82, "type", "publish", "headers", 0xdf, 0x00, 0x0f, 0x42, 0x40), protocol.ErrMalformed},
		{"huge header values", mp(0x82, "type", "publish", "headers", 0x81, "k", 0xdd, 0x00, 0x0f, 0x42, 0x40), protocol.ErrMalformed},
		{"ext in unknown field", mp(0x82, "type", "ping", "x", 0xd4, 0x01, 0x00), protocol.ErrMalformed},
		{"reserved byte", mp(0x82, "type", "ping", "x", 0xc1), protocol.ErrMalformed},
		{"deep nesting", append(mp(0x82, "type", "ping", "x"), bytesRepeat(0x91, 100)...), protocol.ErrMalformed},
		{"unknown type", mp(0x82, "type", "pang", "id", "1"), protocol.ErrUnknownFrameType},
		{"missing type", mp(0x81, "id", "1"), protocol.ErrUnknownFrameType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := protocol.MsgpackCodec{}.Decode(tc.in)
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, tc.kind)
		})
	}
}

func bytesRepeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestDecodeMsgpackAccepts(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want *protocol.Frame
	}{
		{"unknown fields skipped", mp(0x83, "type", "ping", "id", "1", "future", 0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x80),
			&protocol.Frame{Type: protocol.TypePing, ID: "1"}},
		{"nil means absent", mp(0x83, "type", "ping", "id", "1", "sub", 0xc0), &protocol.Frame{Type: protocol.TypePing, ID: "1"}},
		{"wide ints accepted", mp(0x84, "type", "ack", "stream", "S", "stream_seq", 0xcf, 0, 0, 0, 0, 0, 0, 0, 5, "consumer_seq", 0xd3, 0, 0, 0, 0, 0, 0, 0, 6),
			&protocol.Frame{Type: protocol.TypeAck, Stream: "S", StreamSeq: 5, ConsumerSeq: 6}},
		{"positive int8 for unsigned", mp(0x82, "type", "ack", "stream_seq", 0xd0, 0x05), &protocol.Frame{Type: protocol.TypeAck, StreamSeq: 5}},
		{"negative delay decodes (Validate refuses)", mp(0x82, "type", "nak", "delay", 0xff), &protocol.Frame{Type: protocol.TypeNak, Delay: -1}},
		{"str8 string", mp(0x82, "type", "ping", "id", 0xd9, 1, '1'), &protocol.Frame{Type: protocol.TypePing, ID: "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := protocol.MsgpackCodec{}.Decode(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, f)
		})
	}
}

func TestEncodeRejectsUnknownType(t *testing.T) {
	for _, c := range codecs() {
		t.Run(c.Name(), func(t *testing.T) {
			_, err := c.Encode(&protocol.Frame{Type: "bogus"})
			assert.ErrorIs(t, err, protocol.ErrUnknownFrameType)
			_, err = c.Encode(nil)
			assert.Error(t, err)
		})
	}
}

// TestZeroMeansAbsent pins the omitempty rule both codecs follow.
func TestZeroMeansAbsent(t *testing.T) {
	f := &protocol.Frame{Type: protocol.TypeOK, ID: "1", Seq: 0, Duplicate: false, Headers: protocol.Header{}, Data: []byte{}}
	b, err := protocol.JSONCodec{}.Encode(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"ok","id":"1"}`, string(b))
	m, err := protocol.MsgpackCodec{}.Encode(f)
	require.NoError(t, err)
	assert.Equal(t, mp(0x82, "type", "ok", "id", "1"), m)
}

// TestCodecsAgree: every golden frame means the same in both encodings.
func TestCodecsAgree(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			j, err := protocol.JSONCodec{}.Encode(tc.frame)
			require.NoError(t, err)
			m, err := protocol.MsgpackCodec{}.Encode(tc.frame)
			require.NoError(t, err)
			fj, err := protocol.JSONCodec{}.Decode(j)
			require.NoError(t, err)
			fm, err := protocol.MsgpackCodec{}.Decode(m)
			require.NoError(t, err)
			assert.Equal(t, fj, fm)
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := protocol.JSONCodec{}.Decode([]byte(`{"type":"ack","id":"9","stream_seq":"12"}`))
	we, ok := protocol.AsError(err)
	require.True(t, ok)
	assert.Equal(t, `malformed frame: field "stream_seq": string is not a valid unsigned integer`, we.Message)
	assert.False(t, we.Retryable)
	assert.True(t, errors.Is(err, protocol.ErrMalformed))
}

func TestDecodeMsgpackKeepsID(t *testing.T) {
	_, err := protocol.MsgpackCodec{}.Decode(mp(0x83, "type", "ack", "id", "42", "stream_seq", "x"))
	var de *protocol.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "42", de.ID, "the error reply can name the command")
	assert.Equal(t, protocol.TypeAck, de.Type)
	assert.Equal(t, `malformed frame: field "stream_seq": want unsigned integer, got str`, protocol.ErrorFrame(de.ID, err).Message)
}

// TestCodecsConcurrent exercises the pooled encoders and decoders under -race.
func TestCodecsConcurrent(t *testing.T) {
	for _, c := range codecs() {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			for _, tc := range goldenCases() {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					for range 50 {
						b, err := c.Encode(tc.frame)
						require.NoError(t, err)
						f, err := c.Decode(b)
						require.NoError(t, err)
						require.Equal(t, tc.frame, f)
					}
				})
			}
		})
	}
}
