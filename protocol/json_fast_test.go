package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// libraryJSON is what encoding/json writes for f, as JSONCodec once did.
func libraryJSON(t testing.TB, f *Frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestJSONEncodeMatchesLibrary: the hand-written JSON encoder writes what
// encoding/json writes, for every field and every kind of string.
func TestJSONEncodeMatchesLibrary(t *testing.T) {
	all := allFieldsSet()
	all.Headers = Header{"b": {"2"}, "a": {"1", "x"}, "nil": nil, "empty": {}}
	strs := []string{
		"", "plain", `quote " and \ backslash`, "line\nbreak\r\ttab\b\f", "\x00\x01\x1f\x7f",
		"<html> & 'quotes'", "é ü 日本 🎉", "\u2028\u2029", "bad utf-8: \xff\xfe \xc3", "\xed\xa0\x80 surrogate",
	}
	tests := []struct {
		name string
		f    *Frame
	}{
		{"ping", &Frame{Type: TypePing}},
		{"ok", &Frame{Type: TypeOK, ID: "1", Seq: 300, Duplicate: true}},
		{"every field", all},
		{"negative and extreme numbers", &Frame{Type: TypeMsg, Since: -1, Time: -1 << 63, StreamSeq: 1<<64 - 1, Delay: 1<<63 - 1}},
		{"data of every length mod 3", &Frame{Type: TypeMsg, Data: []byte{1}, Headers: Header{"k": {"v"}}}},
	}
	for _, s := range strs {
		tests = append(tests, struct {
			name string
			f    *Frame
		}{"string " + s, &Frame{Type: TypeError, Message: s, Detail: s + s, Headers: Header{s: {s}}, Data: []byte(s)}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			own, err := JSONCodec{}.Encode(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if lib := libraryJSON(t, tt.f); !bytes.Equal(lib, own) {
				t.Fatalf("library %s\nown     %s", lib, own)
			}
		})
	}
}

// FuzzJSONEncode: for any strings, numbers, headers and data, the
// hand-written JSON encoder writes encoding/json's bytes, and they decode
// back to the frame (strings that are valid UTF-8).
func FuzzJSONEncode(f *testing.F) {
	f.Add("orders.eu", "a \"quoted\" \\ \n line", "X-Trace", "v\u2028", []byte("payload"), int64(-5), uint64(7), true)
	f.Add("", "\xff\x00<>&", "", "", []byte{}, int64(0), uint64(0), false)
	f.Fuzz(func(t *testing.T, subject, message, hkey, hval string, data []byte, n int64, u uint64, flag bool) {
		fr := &Frame{Type: TypeMsg, Subject: subject, Message: message, Since: n, StreamSeq: u, Recovered: flag,
			Data: data}
		if hkey != "" || hval != "" {
			fr.Headers = Header{hkey: {hval, message}}
		}
		own, err := JSONCodec{}.Encode(fr)
		if err != nil {
			t.Fatal(err)
		}
		if lib := libraryJSON(t, fr); !bytes.Equal(lib, own) {
			t.Fatalf("library %s\nown     %s", lib, own)
		}
		if !json.Valid(own) {
			t.Fatalf("not JSON: %s", own)
		}
		back, err := JSONCodec{}.Decode(own)
		if err != nil {
			t.Fatalf("decode %s: %v", own, err)
		}
		if len(fr.Data) == 0 {
			fr.Data = nil
		}
		if validUTF8(subject, message, hkey, hval) && !reflect.DeepEqual(fr, back) {
			t.Fatalf("round trip:\n%+v\n%+v", fr, back)
		}
	})
}

func validUTF8(ss ...string) bool {
	for _, s := range ss {
		if !bytes.Equal([]byte(s), []byte(string([]rune(s)))) {
			return false
		}
	}
	return true
}
