package bridge

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePubAck(t *testing.T) {
	tests := []struct {
		in   string
		want PubAck
		code int // an *APIError's ErrorCode, or -1 for an invalid ack
	}{
		{`{"stream":"S","seq":1}`, PubAck{Stream: "S", Sequence: 1}, 0},
		{`{"stream":"ORDERS","domain":"hub","seq":9,"duplicate":true}`, PubAck{Stream: "ORDERS", Sequence: 9, Duplicate: true}, 0},
		{` { "stream" : "S" , "seq" : 2 } `, PubAck{Stream: "S", Sequence: 2}, 0},
		{`{"stream":"a\"b","seq":3}`, PubAck{Stream: `a"b`, Sequence: 3}, 0},
		{`{"stream":"S","seq":3,"batch":"b","count":2}`, PubAck{Stream: "S", Sequence: 3}, 0},
		{`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}}`, PubAck{}, 10071},
		{`{"stream":"","seq":1}`, PubAck{}, -1},
		{`nope`, PubAck{}, -1},
	}
	for _, tc := range tests {
		got, err := parsePubAck([]byte(tc.in))
		switch tc.code {
		case 0:
			require.NoError(t, err, tc.in)
			assert.Equal(t, tc.want, got, tc.in)
		case -1:
			require.ErrorIs(t, err, jetstream.ErrInvalidJSAck, tc.in)
			require.ErrorIs(t, err, ErrUnavailable, tc.in)
		default:
			var apiErr *jetstream.APIError
			require.ErrorAs(t, err, &apiErr, tc.in)
			assert.Equal(t, jetstream.ErrorCode(tc.code), apiErr.ErrorCode)
		}
	}
}

// FuzzParsePubAck holds the hand-written fast path to encoding/json:
// whatever it accepts, encoding/json reads the same way. Its seeds, in
// testdata/fuzz, are answers JetStream gives to a publish and a few it
// does not.
func FuzzParsePubAck(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, ok := parsePubAckFast(in)
		_, _ = parsePubAck(in) // never panics
		if !ok {
			return
		}
		var r struct {
			Error *jetstream.APIError `json:"error"`
			jetstream.PubAck
		}
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", in, err)
		}
		want := PubAck{Stream: r.Stream, Sequence: r.Sequence, Duplicate: r.Duplicate}
		if r.Error != nil || fast != want {
			t.Fatalf("%q: fast path %+v, encoding/json %+v (error %v)", in, fast, want, r.Error)
		}
	})
}
