package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

// libraryDecodeJSON is JSONCodec.Decode as it was written on top of
// encoding/json, kept as the reference the hand-written decoder must match.
func libraryDecodeJSON(b []byte) (*Frame, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed, Err: errors.New("not a JSON object")}
	}
	f := new(Frame)
	if err := json.Unmarshal(b, f); err != nil {
		de := &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed, ID: f.ID, Type: f.Type, Err: err}
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			de.Err = fmt.Errorf("field %q: %s is not a valid %s", typeErr.Field, typeErr.Value, libraryKind(typeErr.Type))
		case errors.As(err, &syntaxErr):
			de.Err = fmt.Errorf("invalid JSON at offset %d", syntaxErr.Offset)
		}
		return nil, de
	}
	if err := checkType(SubprotocolJSON, f); err != nil {
		return nil, err
	}
	return f, nil
}

// libraryKind names a Go type the way the protocol documentation does.
func libraryKind(t reflect.Type) string {
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

// sameAsLibrary fails unless JSONCodec.Decode and libraryDecodeJSON agree
// on in: the same frame, or the same error, id and type.
func sameAsLibrary(t *testing.T, in []byte) {
	t.Helper()
	got, gotErr := JSONCodec{}.Decode(in)
	want, wantErr := libraryDecodeJSON(in)
	switch {
	case wantErr == nil && gotErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %q\n got %#v\nwant %#v", in, got, want)
		}
	case wantErr != nil && gotErr != nil:
		var g, w *DecodeError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("decoding %q: errors %T and %T", in, gotErr, wantErr)
		}
		if g.Error() != w.Error() || g.ID != w.ID || g.Type != w.Type || g.Kind != w.Kind {
			t.Fatalf("decoding %q\n got %v (id %q, type %q)\nwant %v (id %q, type %q)", in, g, g.ID, g.Type, w, w.ID, w.Type)
		}
	default:
		t.Fatalf("decoding %q: got %v, %v; the library %v, %v", in, got, gotErr, want, wantErr)
	}
}

// jsonDecodeCases are the inputs where decoding JSON has a choice to make.
var jsonDecodeCases = []string{
	// every field, and the golden-like frames
	`{"type":"publish","id":"1","sub":"s","version":1,"session":"x","max_frame":2,"max_subs":3,"heartbeat":4,"token":"t","subject":"a.b","stream":"S","consumer":"C","filter":"f","group":"g","max_inflight":5,"from_seq":6,"since":-7,"last":8,"recovered":true,"stream_seq":9,"consumer_seq":10,"deliveries":11,"pending":12,"time":13,"delay":14,"msg_id":"m","seq":15,"duplicate":true,"code":400,"reason":"r","message":"msg","detail":"d","retryable":true,"retry_after":16,"headers":{"A":["1","2"],"B":[]},"data":"aGVsbG8="}`,
	`{"type":"ack","stream":"ORDERS","consumer":"worker","stream_seq":1043,"consumer_seq":18}`,
	` {"type":"ping","id":"1"} `,
	"\t\r\n{\"type\":\"ping\"}\n",
	`{"type":"ping"}`,
	`{"type":"ping","id":""}`,
	`{}`, `{ }`, `{"id":"1"}`, `{"type":""}`, `{"type":"bogus","id":"1"}`, `{"type":null,"id":"2"}`,
	// syntax
	``, ` `, `{`, `{"`, `{"type`, `{"type"`, `{"type":`, `{"type":"ping"`, `{"type":"ping",`, `{"type":"ping",}`,
	`{"type":"ping"}}`, `{"type":"ping"} x`, `{"type":"ping"}{}`, `{"type" "ping"}`, `{type:"ping"}`, `{'type':'ping'}`,
	`{"type":"ping",,"id":"1"}`, `{,}`, `{"a":}`, `{"a":,"type":"ping"}`, `[]`, `null`, `"x"`, `1`,
	`{"type":"ping","x":tru}`, `{"type":"ping","x":trux}`, `{"type":"ping","x":nul}`, `{"type":"ping","x":nulL}`, `{"type":"ping","x":falsey}`,
	`{"type":"ping","x":-}`, `{"type":"ping","x":-a}`, `{"type":"ping","x":01}`, `{"type":"ping","x":1.}`, `{"type":"ping","x":1.e5}`,
	`{"type":"ping","x":1e}`, `{"type":"ping","x":1e+}`, `{"type":"ping","x":1E-5}`, `{"type":"ping","x":+1}`, `{"type":"ping","x":.5}`,
	`{"type":"ping","x":[1,]}`, `{"type":"ping","x":[,1]}`, `{"type":"ping","x":[1 2]}`, `{"type":"ping","x":{"a" 1}}`, `{"type":"ping","x":{"a":1,}}`,
	`{"type":"ping","x":[}`, `{"type":"ping","x":{]}`, `{"type":"ping","x":[[[[`, `{"type":"ping","x":"\x"}`, `{"type":"ping","x":"\u12G4"}`,
	`{"type":"ping","x":"\u12"}`, `{"type":"ping","x":"\'"}`, "{\"type\":\"ping\",\"x\":\"tab\there\"}", "{\"type\":\"ping\",\"x\":\"nul\x00\"}",
	"{\"type\":\"ping\"}\x00", "{\"type\":\"ping\",\"x\":\"\x7f\"}", "{\"type\xff\":\"ping\"}", "{\"type\":\"ping\"\xff}",
	`{"type":"ping","id":"1","x":1}garbage`,
	// types: the first wrong one is reported, decoding goes on for id
	`{"type":"ping","id":7}`, `{"type":"ack","id":"9","stream_seq":"12"}`, `{"type":"ack","stream_seq":"12","id":"9"}`,
	`{"type":"ack","id":"9","stream_seq":-1}`, `{"type":"ack","id":"9","stream_seq":-0}`, `{"type":"ack","id":"9","stream_seq":1.0}`,
	`{"type":"ack","id":"9","stream_seq":1e3}`, `{"type":"ack","id":"9","stream_seq":18446744073709551615}`, `{"type":"ack","id":"9","stream_seq":18446744073709551616}`,
	`{"type":"msg","id":"9","time":-9223372036854775808}`, `{"type":"msg","id":"9","time":9223372036854775808}`, `{"type":"msg","time":-0}`,
	`{"type":"subscribe","id":"9","max_inflight":1.5}`, `{"type":"subscribe","id":"9","max_inflight":true}`, `{"type":"subscribe","id":"9","max_inflight":{}}`,
	`{"type":"subscribe","id":"9","max_inflight":[1]}`, `{"type":"subscribe","id":"9","max_inflight":"5"}`,
	`{"type":"ok","id":"9","duplicate":1}`, `{"type":"ok","id":"9","duplicate":"true"}`, `{"type":"ok","id":"9","duplicate":[]}`, `{"type":"ok","duplicate":{},"id":"9"}`,
	`{"type":"ok","id":true}`, `{"type":"ok","id":{"a":"b"}}`, `{"type":"ok","id":["a"]}`, `{"type":7,"id":"1"}`, `{"type":["ping"],"id":"1"}`,
	`{"type":"error","id":"9","code":"stream_not_found"}`, `{"type":"error","id":"9","code":404,"message":5,"detail":false}`,
	`{"type":"ack","id":"9","stream_seq":"x","consumer_seq":"y","type":"nak"}`,
	`{"type":"ack","id":"9","stream_seq":"x","id":"10"}`,
	// data
	`{"type":"publish","id":"9","subject":"a","data":"***"}`, `{"type":"publish","data":""}`, `{"type":"publish","data":"aGk"}`, `{"type":"publish","data":"aGk=="}`,
	`{"type":"publish","data":"aG\nk="}`, `{"type":"publish","data":"aG\\nk="}`, `{"type":"publish","data":"aGk=\r\n"}`, `{"type":"publish","data":"a\u0047k="}`,
	`{"type":"publish","data":"aGk=","data":null}`, `{"type":"publish","data":null}`, `{"type":"publish","data":5}`, `{"type":"publish","data":true}`,
	`{"type":"publish","data":{}}`, `{"type":"publish","data":[]}`, `{"type":"publish","data":[1,2,255]}`, `{"type":"publish","data":[256]}`,
	`{"type":"publish","data":[-1]}`, `{"type":"publish","data":[1.5]}`, `{"type":"publish","data":["a"]}`, `{"type":"publish","data":[null,2]}`,
	`{"type":"publish","data":"AQID","data":[null,5]}`, `{"type":"publish","data":"AQIDBA==","data":[null]}`, `{"type":"publish","data":[1,2,3],"data":[null,null,null,null]}`,
	`{"type":"publish","data":[[1]]}`, `{"type":"publish","data":[{}],"id":"3"}`, `{"type":"publish","data":"_-8="}`, `{"type":"publish","data":"\u00e9"}`,
	"{\"type\":\"publish\",\"data\":\"\xff\"}",
	// headers
	`{"type":"publish","headers":null}`, `{"type":"publish","headers":{}}`, `{"type":"publish","headers":{"k":null}}`, `{"type":"publish","headers":{"k":[]}}`,
	`{"type":"publish","headers":{"k":[null,"v"]}}`, `{"type":"publish","headers":{"k":["a"],"k":["b"]}}`, `{"type":"publish","headers":{"a":["1"]},"headers":{"b":["2"]}}`,
	`{"type":"publish","headers":{"a":["1"]},"headers":null}`, `{"type":"publish","id":"9","subject":"a","headers":{"k":"v"}}`, `{"type":"publish","id":"9","headers":{"k":[1]}}`,
	`{"type":"publish","id":"9","headers":{"k":[["x"]]}}`, `{"type":"publish","id":"9","headers":{"k":[{}]}}`, `{"type":"publish","id":"9","headers":{"k":{}}}`,
	`{"type":"publish","id":"9","headers":["k"]}`, `{"type":"publish","id":"9","headers":"k"}`, `{"type":"publish","id":"9","headers":5}`, `{"type":"publish","id":"9","headers":true}`,
	`{"type":"publish","headers":{"\u00e9\n":["\ud83c\udf89"]}}`, `{"type":"publish","headers":{"":[""]}}`,
	// strings
	`{"type":"ping","id":"\"\\\/\b\f\n\r\t"}`, `{"type":"ping","id":"\u0041\u00e9\u65e5"}`, `{"type":"ping","id":"\ud83c\udf89"}`, `{"type":"ping","id":"\ud83c"}`,
	`{"type":"ping","id":"\ud83cx"}`, `{"type":"ping","id":"\ud83c\u0041"}`, `{"type":"ping","id":"\udf89\ud83c"}`, `{"type":"ping","id":"\ud83c\ud83c\udf89"}`,
	`{"type":"ping","id":"\ud83c\\"}`, `{"type":"ping","id":"\uDBFF\uDFFF"}`, "{\"type\":\"ping\",\"id\":\"\xff\xfe\xc3\"}", "{\"type\":\"ping\",\"id\":\"\xed\xa0\x80\"}",
	"{\"type\":\"ping\",\"id\":\"é日🎉\"}", "{\"type\":\"ping\",\"id\":\"\xf4\x90\x80\x80\"}", `{"type":"p\u0069ng"}`, `{"\u0074ype":"ping"}`,
	// keys: case-insensitive, last wins, unknown skipped
	`{"TYPE":"ping","Id":"1"}`, `{"type":"ping","ID":"1","id":"2"}`, `{"type":"ping","id":"2","ID":"1"}`, `{"Stream_Seq":5,"type":"ack"}`,
	"{\"type\":\"ack\",\"\u212a\":1,\"stream_seq\":1}", "{\"type\":\"ping\",\"\u017fub\":\"x\"}", "{\"type\":\"auth\",\"to\u212aen\":\"x\"}", "{\"type\":\"ping\",\"SUB\":\"x\"}",
	`{"type":"ping","future":{"x":[1,2,{"y":null}]},"id":"1"}`, `{"type":"ping","future":"\ud83c"}`, `{"type":"ping","fut\u00e9":1}`,
	`{"type":"ping","id":"1","id":null}`, `{"type":"ok","seq":5,"seq":null}`, `{"type":"ok","duplicate":true,"duplicate":null}`, `{"type":"ok","duplicate":true,"duplicate":false}`,
	`{"type":"ping","sub":null,"version":null,"recovered":null,"headers":null,"data":null}`,
}

func TestJSONDecodeMatchesLibrary(t *testing.T) {
	for i, in := range jsonDecodeCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { sameAsLibrary(t, []byte(in)) })
	}
	t.Run("nesting", func(t *testing.T) {
		for _, depth := range []int{9998, 9999, 10000, 10001} {
			open := strings.Repeat(`{"a":`, depth)
			sameAsLibrary(t, []byte(`{"type":"ping","x":`+open+"1"+strings.Repeat("}", depth)+"}"))
			sameAsLibrary(t, []byte(`{"type":"ping","x":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+"}"))
			sameAsLibrary(t, []byte(`{"type":"ping","x":`+strings.Repeat("[", depth)))
		}
	})
}

func FuzzJSONDecodeMatchesLibrary(f *testing.F) {
	for _, in := range jsonDecodeCases {
		f.Add([]byte(in))
	}
	addGolden(f, "json")
	f.Fuzz(sameAsLibrary)
}

func BenchmarkDecodeJSONLibrary(b *testing.B) {
	for _, tc := range []struct {
		name string
		f    *Frame
	}{
		{"msg", &Frame{Type: TypeMsg, Sub: "orders", Subject: "orders.eu.created", Stream: "ORDERS", Consumer: "worker",
			StreamSeq: 1042, ConsumerSeq: 17, Deliveries: 1, Pending: 3, Time: 1767225600123456789, Data: bytes.Repeat([]byte{'x'}, 128)}},
		{"ack", &Frame{Type: TypeAck, Sub: "orders", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 17}},
	} {
		enc, err := JSONCodec{}.Encode(tc.f)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []struct {
			name   string
			decode func([]byte) (*Frame, error)
		}{{"library", libraryDecodeJSON}, {"fast", JSONCodec{}.Decode}} {
			b.Run(tc.name+"/"+d.name, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.decode(enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestJSONDecodeDeepOnHeap: skipping a value nested 10,000 deep (a 20 KB
// frame any client may send) takes a little heap, not megabytes of the
// reading goroutine's stack, as a recursive skip would.
func TestJSONDecodeDeepOnHeap(t *testing.T) {
	old := debug.SetMaxStack(256 << 10) // process-wide: this test is not parallel
	defer debug.SetMaxStack(old)
	for _, in := range []string{
		`{"type":"ping","x":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + "}",
		`{"type":"ping","x":` + strings.Repeat(`{"a":`, maxJSONDepth-1) + "1" + strings.Repeat("}", maxJSONDepth-1) + "}",
	} {
		done := make(chan error)
		go func() { // a fresh goroutine, with a small stack to start from
			_, err := JSONCodec{}.Decode([]byte(in))
			done <- err
		}()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		done2 := make(chan error)
		go func() {
			_, err := DecodeBatch([]byte(`[{"subject":"a","x":`+in[len(`{"type":"ping","x":`):]+`]`), 1)
			done2 <- err
		}()
		if err := <-done2; err == nil || err.Error() != `message 0: unknown field "x"` {
			t.Fatal("the whole value skipped, then refused:", err)
		}
	}
}
