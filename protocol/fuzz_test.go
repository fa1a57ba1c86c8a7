package protocol_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/httpmq/httpmq/protocol"
)

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, protocol.JSONCodec{}) }
func FuzzDecodeMsgpack(f *testing.F) { fuzzDecode(f, protocol.MsgpackCodec{}) }

// fuzzDecode checks, for any input: Decode never panics; it either fails
// with a *DecodeError or returns a frame of a known type whose encoding
// decodes again and re-encodes to the same bytes.
func fuzzDecode(f *testing.F, c protocol.Codec) {
	for _, tc := range goldenCases() {
		b, err := os.ReadFile(filepath.Join(goldenDir, tc.name+ext(c)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := c.Decode(in)
		if err != nil {
			var de *protocol.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error %T is not a *DecodeError: %v", err, err)
			}
			if _, ok := protocol.AsError(err); !ok {
				t.Fatalf("AsError(%v) found no *Error", err)
			}
			return
		}
		if !fr.Type.Known() {
			t.Fatalf("decoded unknown type %q", fr.Type)
		}
		_ = fr.Validate() // must not panic
		b1, err := c.Encode(fr)
		if err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
		fr2, err := c.Decode(b1)
		if err != nil {
			t.Fatalf("Decode of own encoding %q: %v", b1, err)
		}
		b2, err := c.Encode(fr2)
		if err != nil {
			t.Fatalf("second Encode: %v", err)
		}
		if string(b1) != string(b2) {
			t.Fatalf("encoding not stable:\n%q\n%q", b1, b2)
		}
	})
}
