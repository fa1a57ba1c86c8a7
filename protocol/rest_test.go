package protocol_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

// Requests marshal to what the server reads strictly: only what is set.
func TestRESTRequestsOmitWhatIsUnset(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{protocol.NewStream{Name: "S"}, `{"name":"S"}`},
		{protocol.NewStream{Name: "S", StreamLimits: protocol.StreamLimits{MaxAge: ptr(time.Second)}},
			`{"name":"S","max_age":1000000000}`},
		{protocol.StreamUpdate{StreamSettings: protocol.StreamSettings{Retention: "workqueue"}}, `{"retention":"workqueue"}`},
		{protocol.NewConsumer{Name: "c", Mode: protocol.ModePull}, `{"name":"c","mode":"pull"}`},
		{protocol.Purge{}, `{}`},
		{protocol.AckRequest{Consumer: 2, Stream: 7, Delay: protocol.Duration(time.Second)}, `{"consumer":2,"stream":7,"delay":1000000000}`},
		{protocol.AckResult{}, `{}`},
		{protocol.Envelope{Success: true, RequestID: "r"}, `{"success":true,"request_id":"r"}`},
	} {
		b, err := json.Marshal(tc.v)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(b), "%T", tc.v)
	}
}

func TestRESTDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{`1500000000`: 1500 * time.Millisecond, `"1.5s"`: 1500 * time.Millisecond, `0`: 0} {
		var d protocol.Duration
		require.NoError(t, json.Unmarshal([]byte(in), &d), in)
		assert.Equal(t, want, time.Duration(d), in)
	}
	for _, in := range []string{`"soon"`, `1.5`, `true`} {
		var d protocol.Duration
		assert.Error(t, json.Unmarshal([]byte(in), &d), in)
	}
}

// A delivery's payload is standard base64 on the wire.
func TestRESTDeliveryPayload(t *testing.T) {
	b, err := json.Marshal(protocol.Delivery{Success: true, Headers: protocol.Header{"K": {"v"}}, B64Msg: []byte("hi")})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "aGk=", m["b64_msg"])
	assert.Equal(t, map[string]any{"K": []any{"v"}}, m["headers"])
	assert.Equal(t, "v", protocol.Header{"K": {"v"}}.Get("K"))
	assert.Empty(t, protocol.Header{}.Get("K"))
}

func ptr[T any](v T) *T { return &v }

// TestBatchPublishResultAppendJSON: the server's hand-written answer is
// json.Marshal's, byte for byte for usual stream names, and reads back
// the same for any.
func TestBatchPublishResultAppendJSON(t *testing.T) {
	for i, r := range []protocol.BatchPublishResult{
		{},
		{Results: []protocol.BatchResult{}},
		{Results: []protocol.BatchResult{
			{Success: true, Stream: "ORDERS", Sequence: 42},
			{Success: true, Stream: "ORDERS", Sequence: 42, Duplicate: true},
			{Error: protocol.NewError(protocol.CodeNoStreamForSubject, "no stream <captures> & such")},
			{Error: &protocol.Error{Code: protocol.CodeReservedSubject, Status: 403, Message: "m", Detail: "d", Retryable: true}},
		}, Published: 2, Failed: 2},
		{Results: []protocol.BatchResult{{Success: true, Stream: "a<b&c", Sequence: 1}}, Published: 1},
	} {
		want, err := json.Marshal(r)
		require.NoError(t, err)
		got, err := r.AppendJSON([]byte("prefix"))
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(got, []byte("prefix")))
		got = got[len("prefix"):]
		if i < 3 { // the last has HTML characters in a stream name
			assert.Equal(t, string(want), string(got))
		} else {
			assert.NotEqual(t, string(want), string(got))
		}
		var back, wantBack protocol.BatchPublishResult
		require.NoError(t, json.Unmarshal(got, &back))
		require.NoError(t, json.Unmarshal(want, &wantBack))
		assert.Equal(t, wantBack, back)
	}
}

func BenchmarkBatchAnswer(b *testing.B) {
	r := protocol.BatchPublishResult{Published: 64}
	for i := range 64 {
		r.Results = append(r.Results, protocol.BatchResult{Success: true, Stream: "ORDERS", Sequence: uint64(100000 + i)})
	}
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.AppendJSON(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
