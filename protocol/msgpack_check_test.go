package protocol

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzMsgpackCheck: whatever checkMsgpackFrame accepts, msgpack/v5
// decodes into a Frame without error (so the check is the only gate).
func FuzzMsgpackCheck(f *testing.F) {
	addGolden(f, "msgpack")
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, _, err := checkMsgpackFrame(in); err != nil {
			return
		}
		var fr Frame
		if err := msgpack.NewDecoder(bytes.NewReader(in)).Decode(&fr); err != nil {
			t.Fatalf("check accepted %x but msgpack failed: %v", in, err)
		}
	})
}

// TestEncodeFrameMatchesLibrary: the hand-rolled encoder writes what
// msgpack/v5's tag-driven struct encoding writes, for every field.
func TestEncodeFrameMatchesLibrary(t *testing.T) {
	frames := []*Frame{
		{Type: TypePing},
		{Type: TypeOK, ID: "1", Seq: 300, Duplicate: true},
		allFieldsSet(),
	}
	for _, f := range frames {
		var lib bytes.Buffer
		enc := msgpack.NewEncoder(&lib)
		enc.UseCompactInts(true)
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		own, err := MsgpackCodec{}.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(lib.Bytes(), own) {
			t.Fatalf("frame %+v:\nlibrary %x\nown     %x", f, lib.Bytes(), own)
		}
		back, err := MsgpackCodec{}.Decode(own)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, back) {
			t.Fatalf("round trip:\n%+v\n%+v", f, back)
		}
	}
}

// allFieldsSet returns a frame with every field non-zero (one header key,
// so the library's unsorted map encoding is still deterministic).
func allFieldsSet() *Frame {
	f := &Frame{Type: TypeMsg}
	v := reflect.ValueOf(f).Elem()
	for i := 1; i < v.NumField(); i++ {
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(v.Type().Field(i).Name)
		case reflect.Uint64:
			fv.SetUint(uint64(1) << (8 + i))
		case reflect.Int, reflect.Int64:
			fv.SetInt(-int64(1) << (4 + i))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Slice:
			fv.SetBytes([]byte{0, 1, 2, byte(i)})
		case reflect.Map:
			fv.Set(reflect.ValueOf(Header{"K": {"v1", "v2"}}))
		default:
			panic(fv.Kind())
		}
	}
	return f
}

// FuzzMsgpackDecodeMatchesLibrary: whatever checkMsgpackFrame accepts,
// the hand-written decoder reads as msgpack/v5 reads it into a Frame,
// and the hand-written encoder writes what the library writes for it.
func FuzzMsgpackDecodeMatchesLibrary(f *testing.F) {
	files, err := filepath.Glob("../testdata/protocol/*.msgpack")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(appendMsgpackFrame(nil, allFieldsSet()))
	// Edge cases: headers given twice, an empty bin, an empty value list,
	// nil values, a key given twice, negative and wide integers, an
	// unknown key with a nested value.
	hdr := func(k string, vals ...string) []byte {
		b := mpAppendStr(mpAppendMapLen(nil, 1), k)
		if vals == nil {
			return append(b, 0xc0)
		}
		b = mpAppendArrayLen(b, len(vals))
		for _, v := range vals {
			b = mpAppendStr(b, v)
		}
		return b
	}
	frame := func(kv ...[]byte) []byte {
		b := mpAppendMapLen(nil, len(kv)/2)
		for _, p := range kv {
			b = append(b, p...)
		}
		return b
	}
	s := func(v string) []byte { return mpAppendStr(nil, v) }
	f.Add(frame(s("type"), s("publish"), s("headers"), hdr("A", "1"), s("headers"), hdr("B", "2", "3")))
	f.Add(frame(s("type"), s("publish"), s("headers"), hdr("A"), s("data"), []byte{0xc4, 0}))
	f.Add(frame(s("type"), s("publish"), s("headers"), append(hdr("A")[:3], 0x90), s("data"), []byte{0xc0}))
	f.Add(frame(s("type"), s("publish"), s("type"), s("ack"), s("id"), []byte{0xc0}, s("sub"), s("x")))
	f.Add(frame(s("type"), s("nak"), s("delay"), []byte{0xd3, 0xff, 0, 0, 0, 0, 0, 0, 1}, s("stream_seq"), []byte{0xcf, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
		s("code"), []byte{0xf0}, s("x"), []byte{0x91, 0x81, 0xa1, 'k', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, _, err := checkMsgpackFrame(in); err != nil {
			return
		}
		var lib Frame
		if err := msgpack.NewDecoder(bytes.NewReader(in)).Decode(&lib); err != nil {
			t.Fatalf("check accepted %x but msgpack failed: %v", in, err)
		}
		own, err := decodeMsgpackFrame(in)
		if err != nil {
			t.Fatalf("check accepted %x but the decoder failed: %v", in, err)
		}
		if !reflect.DeepEqual(&lib, own) {
			t.Fatalf("%x:\nlibrary %#v\nown     %#v", in, &lib, own)
		}
		var want bytes.Buffer
		enc := msgpack.NewEncoder(&want)
		enc.UseCompactInts(true)
		if err := enc.Encode(own); err != nil {
			t.Fatal(err)
		}
		if got := appendMsgpackFrame(nil, own); !bytes.Equal(want.Bytes(), got) {
			t.Fatalf("frame %#v:\nlibrary %x\nown     %x", own, want.Bytes(), got)
		}
	})
}

// addGolden adds the golden frames of testdata/protocol in one encoding
// ("json" or "msgpack") to f's seed corpus.
func addGolden(f *testing.F, encoding string) {
	files, err := filepath.Glob("../testdata/protocol/*." + encoding)
	if err != nil || len(files) == 0 {
		f.Fatal("no golden frames:", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}
