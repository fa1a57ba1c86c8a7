package dataplane

import (
	"encoding/json"
	"testing"

	"github.com/httpmq/httpmq/protocol"
)

// FuzzDecodeBatch: for any body, decodeBatch never panics; it either
// refuses the whole request with a bad_request, or returns between 1
// and max messages that marshal back to a batch it reads the same.
// Each payload decodes, or fails with a bad_request. Seeds are in
// testdata/fuzz/FuzzDecodeBatch.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`[{"subject":"a","data":"SGVsbG8=","msg_id":"1","headers":{"X":["y"]}}]`))
	f.Add([]byte("{\"subject\":\"a\"}\n{\"subject\":\"b\",\"data\":\"AA\"}\n"))
	const max = 8
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := decodeBatch(body, max)
		if err != nil {
			e, ok := protocol.AsError(err)
			if !ok || e.Code != protocol.CodeBadRequest {
				t.Fatalf("refusal %v is not a bad_request", err)
			}
			return
		}
		if len(msgs) == 0 || len(msgs) > max {
			t.Fatalf("%d messages", len(msgs))
		}
		for _, m := range msgs {
			if _, err := decodeBatchData(m.Data); err != nil {
				if e, ok := protocol.AsError(err); !ok || e.Code != protocol.CodeBadRequest {
					t.Fatalf("payload refusal %v is not a bad_request", err)
				}
			}
		}
		again, err := json.Marshal(msgs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeBatch(again, max)
		if err != nil {
			t.Fatalf("re-reading %s: %v", again, err)
		}
		if len(back) != len(msgs) {
			t.Fatalf("%d messages, then %d", len(msgs), len(back))
		}
	})
}
