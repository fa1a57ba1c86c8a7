package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// libraryDecodeBatch is how the server read a batch body with
// encoding/json's Decoder, kept as the reference DecodeBatch must match:
// the messages, or an error, and whether it was ErrTooManyMessages.
func libraryDecodeBatch(body []byte, max int) ([]BatchMessage, error) {
	text := bytes.TrimSpace(body)
	if len(text) == 0 {
		return nil, errors.New("empty")
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	array := text[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	var msgs []BatchMessage
	for {
		if array && !dec.More() {
			break
		}
		var m BatchMessage
		err := dec.Decode(&m)
		if !array && err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(msgs) == max {
			return nil, ErrTooManyMessages
		}
		msgs = append(msgs, m)
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("trailing data")
		}
	}
	if len(msgs) == 0 {
		return nil, errors.New("no messages")
	}
	return msgs, nil
}

// sameBatchAsLibrary fails unless DecodeBatch and libraryDecodeBatch
// agree on body: the same messages, or both an error of the same kind.
func sameBatchAsLibrary(t *testing.T, body []byte) {
	t.Helper()
	const max = 4
	got, gotErr := DecodeBatch(body, max)
	want, wantErr := libraryDecodeBatch(body, max)
	switch {
	case gotErr == nil && wantErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %q\n got %#v\nwant %#v", body, got, want)
		}
	case gotErr != nil && wantErr != nil:
		if errors.Is(gotErr, ErrTooManyMessages) != errors.Is(wantErr, ErrTooManyMessages) {
			t.Fatalf("decoding %q: error %v, the library's %v", body, gotErr, wantErr)
		}
	default:
		t.Fatalf("decoding %q: got %v, %v; the library %v, %v", body, got, gotErr, want, wantErr)
	}
}

var batchDecodeCases = []string{
	`[{"subject":"a","data":"SGVsbG8=","msg_id":"1","headers":{"X":["y"]}}]`,
	"{\"subject\":\"a\"}\n{\"subject\":\"b\",\"data\":\"AA\"}\n",
	`{"subject":"a"}{"subject":"b"}`, `{"subject":"a"} {"subject":"b"}`, `{"subject":"a"},{"subject":"b"}`,
	` [ {"subject":"a"} , {"subject":"b"} ] `, "\f[{\"subject\":\"a\"}]\u00a0", "\u0085{\"subject\":\"a\"}",
	``, ` `, `[]`, `[ ]`, `{}`, `null`, `nullnull`, `[null]`, `[null,{"subject":"a"}]`, `[{}]`,
	`[`, `[{`, `[{"subject":"a"}`, `[{"subject":"a"},]`, `[,{"subject":"a"}]`, `[{"subject":"a"} {"subject":"b"}]`,
	`[{"subject":"a"}]]`, `[{"subject":"a"}] x`, `[{"subject":"a"}][]`, `[{"subject":"a"}]{"subject":"b"}`, `{"subject":"a"}[{"subject":"b"}]`,
	`[1,2]`, `["a"]`, `[[]]`, `[true]`, `1`, `"a"`, `{"subject":"a"} 1`, `{"subject":"a"}x`, `hello`,
	`[{"subject":"a","payload":"AA=="}]`, `[{"subject":"a","data":1}]`, `[{"subject":1}]`, `[{"subject":null,"data":null,"msg_id":null,"headers":null}]`,
	`[{"Subject":"a","DATA":"AA==","Msg_Id":"x","HEADERS":{"k":["v"]}}]`, "[{\"subject\":\"a\",\"msg_\u0131d\":\"x\"}]",
	`[{"subject":"a","subject":"b"}]`, `[{"subject":"a","headers":{"k":["1"]},"headers":{"j":["2"]}}]`, `[{"subject":"a","headers":{"k":["1"]},"headers":null}]`,
	`[{"subject":"a","headers":{"k":"v"}}]`, `[{"subject":"a","headers":{"k":[1]}}]`, `[{"subject":"a","headers":{"k":[null,"v"]}}]`, `[{"subject":"a","headers":{"k":null}}]`,
	`[{"subject":"a","headers":[]}]`, `[{"subject":"\u00e9\ud83c\udf89\ud83c","data":"\u0041A=="}]`, "[{\"subject\":\"\xff\"}]", "[{\"subject\":\"a\tb\"}]",
	`[{"subject":"a","x":{"deep":[1,2,{"y":null}]}}]`, `[{"subject":"a"},{"subject":"b"},{"subject":"c"},{"subject":"d"}]`,
	`[{"subject":"a"},{"subject":"b"},{"subject":"c"},{"subject":"d"},{"subject":"e"}]`, `[{"subject":"a"},{"subject":"b"},{"subject":"c"},{"subject":"d"},{"subject":5}]`,
	`[{"subject":"a"},{"subject":"b"},{"subject":"c"},{"subject":"d"},{"subject":"e"},x]`, `[{"subject":"a"},{"subject":"b"},{"subject":"c"},{"subject":"d"},x]`,
	"{\"subject\":\"a\"}\n{\"subject\":\"b\"}\n{\"subject\":\"c\"}\n{\"subject\":\"d\"}\n{\"subject\":\"e\"}\n",
	"{\"subject\":\"a\"}\n{\"subject\":\"b\"}\n{\"subject\":\"c\"}\n{\"subject\":\"d\"}\n{\"subject\":\"e\"}\nx",
}

func TestDecodeBatchMatchesLibrary(t *testing.T) {
	for i, in := range batchDecodeCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { sameBatchAsLibrary(t, []byte(in)) })
	}
	t.Run("nesting", func(t *testing.T) {
		for _, depth := range []int{9998, 9999, 10000, 10001} {
			deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
			sameBatchAsLibrary(t, []byte(`[{"subject":"a","x":`+deep+`}]`))
			sameBatchAsLibrary(t, []byte(`{"subject":"a","x":`+deep+`}`))
			sameBatchAsLibrary(t, []byte(`[`+deep+`]`))
		}
	})
}

func TestDecodeBatchErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "the body is empty; send a JSON array of messages, or one message object per line"},
		{"[]", "no messages"},
		{`[{"subject":"a","payload":"x"}]`, `message 0: unknown field "payload"`},
		{`[{"subject":"a"},{"subject":1}]`, `message 1: field "subject": number is not a valid string`},
		{`[{"subject":"a"},2]`, `message 1: a message must be an object`},
		{`  [{"subject":"a"}x`, `message 1: invalid JSON at offset 19`},
		{`[{"subject":"a"}] x`, `unexpected data after the array at offset 18`},
		{`[{},{},{},{},{}]`, `too many messages in one batch: the limit is 4 messages`},
	} {
		_, err := DecodeBatch([]byte(tc.in), 4)
		if err == nil || err.Error() != tc.want {
			t.Errorf("DecodeBatch(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzDecodeBatchMatchesLibrary(f *testing.F) {
	for _, in := range batchDecodeCases {
		f.Add([]byte(in))
	}
	f.Fuzz(sameBatchAsLibrary)
}

func BenchmarkDecodeBatch(b *testing.B) {
	msgs := make([]BatchMessage, 64)
	for i := range msgs {
		msgs[i] = BatchMessage{Subject: "orders.eu", Data: strings.Repeat("QUJD", 43)}
	}
	body, err := json.Marshal(msgs)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range []struct {
		name   string
		decode func([]byte, int) ([]BatchMessage, error)
	}{{"library", libraryDecodeBatch}, {"fast", DecodeBatch}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.decode(body, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
