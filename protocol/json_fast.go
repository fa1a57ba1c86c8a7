package protocol

import (
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSONFrame appends f as encoding/json writes it with HTML escaping
// off: fields in [Frame] order, zero fields omitted, header keys sorted,
// data in padded standard base64. It spares the reflection of
// encoding/json on every frame sent (a session's every message);
// TestJSONEncodeMatchesLibrary and FuzzJSONEncode hold it to the library's
// bytes. Its list of fields repeats appendMsgpackFrame's: walking one
// list through function values doubled msgpack's encoding time (143 →
// 341 ns), and each list is held to its library by the tests.
func appendJSONFrame(b []byte, f *Frame) []byte {
	b = appendJSONString(append(b, `{"type":`...), string(f.Type))
	key := func(k string) {
		b = append(append(append(b, ',', '"'), k...), '"', ':')
	}
	str := func(k, v string) {
		if v != "" {
			key(k)
			b = appendJSONString(b, v)
		}
	}
	integer := func(k string, v int64) {
		if v != 0 {
			key(k)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	unsigned := func(k string, v uint64) {
		if v != 0 {
			key(k)
			b = strconv.AppendUint(b, v, 10)
		}
	}
	boolean := func(k string, v bool) {
		if v {
			key(k)
			b = append(b, "true"...)
		}
	}
	str("id", f.ID)
	str("sub", f.Sub)
	integer("version", int64(f.Version))
	str("session", f.Session)
	integer("max_frame", int64(f.MaxFrame))
	integer("max_subs", int64(f.MaxSubs))
	integer("heartbeat", int64(f.Heartbeat))
	str("token", f.Token)
	str("subject", f.Subject)
	str("stream", f.Stream)
	str("consumer", f.Consumer)
	str("filter", f.Filter)
	str("group", f.Group)
	integer("max_inflight", int64(f.MaxInflight))
	unsigned("from_seq", f.FromSeq)
	integer("since", f.Since)
	integer("last", int64(f.Last))
	boolean("recovered", f.Recovered)
	unsigned("stream_seq", f.StreamSeq)
	unsigned("consumer_seq", f.ConsumerSeq)
	unsigned("deliveries", f.Deliveries)
	unsigned("pending", f.Pending)
	integer("time", f.Time)
	integer("delay", int64(f.Delay))
	str("msg_id", f.MsgID)
	unsigned("seq", f.Seq)
	boolean("duplicate", f.Duplicate)
	integer("code", int64(f.Status))
	str("reason", f.Reason)
	str("message", f.Message)
	str("detail", f.Detail)
	boolean("retryable", f.Retryable)
	integer("retry_after", int64(f.RetryAfter))
	if len(f.Headers) > 0 {
		key("headers")
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(f.Headers)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			vs := f.Headers[k]
			if vs == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, v := range vs {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if len(f.Data) > 0 {
		key("data")
		b = append(base64.StdEncoding.AppendEncode(append(b, '"'), f.Data), '"')
	}
	return append(b, '}')
}

// jsonFrameSize is a size that appendJSONFrame will not outgrow for most
// frames: the fixed parts, the strings escaped at worst, the data in
// base64.
func jsonFrameSize(f *Frame) int {
	return 2*msgpackFrameSize(f) + base64.StdEncoding.EncodedLen(len(f.Data))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string with
// HTML escaping off: '"', '\\' and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped (JavaScript reads
// them as line ends).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
