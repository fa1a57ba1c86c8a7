package dataplane_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/protocol"
)

// TestLiveSubject: GET on a subject streams its messages live, after
// those recovered from the position asked; an EventSource resumes after
// its Last-Event-ID.
func TestLiveSubject(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			env, s := newDataplane(t, proto, dataplane.Options{})
			createStream(t, env.Bridge, "P", "prices.>")
			publishN(t, env.Bridge, "prices.eur", 5)

			sub := s.subscribe(t, "/v1/data/subject/prices.*?from_seq=4", nil)
			for seq := uint64(4); seq <= 5; seq++ {
				d := sub.next(t)
				assert.Equal(t, seq, d.Sequence.Stream)
				assert.Equal(t, "P", d.Stream)
				assert.Equal(t, "prices.eur", d.Subject)
				assert.Empty(t, d.Consumer)
			}
			pub := s.publish(t, "prices.usd", "bGl2ZQ==")
			d := sub.next(t)
			assert.Equal(t, pub.Sequence, d.Sequence.Stream)
			assert.Equal(t, "live", string(d.B64Msg))

			last := s.subscribe(t, "/v1/data/subject/prices.>?last=2", nil)
			assert.Equal(t, uint64(5), last.next(t).Sequence.Stream)
			assert.Equal(t, uint64(6), last.next(t).Sequence.Stream)

			sse := s.subscribe(t, "/v1/data/subject/prices.>", http.Header{"Accept": {"text/event-stream"}, "Last-Event-ID": {"5"}})
			assert.Equal(t, "id: 6\n", string(sse.line(t)), "resumes after the last event id")
		})
	}
}

// TestLiveSubjectRefusals: bad positions, reserved and invalid subjects
// are answered before the stream starts.
func TestLiveSubjectRefusals(t *testing.T) {
	_, s := newDataplane(t, "h2c", dataplane.Options{})
	tests := []struct {
		path string
		code protocol.Code
	}{
		{"/v1/data/subject/a?from_seq=0", protocol.CodeBadRequest},
		{"/v1/data/subject/a?from_seq=x", protocol.CodeBadRequest},
		{"/v1/data/subject/a?last=-2", protocol.CodeBadRequest},
		{"/v1/data/subject/a?since=yesterday", protocol.CodeBadRequest},
		{"/v1/data/subject/a?from_seq=1&last=2", protocol.CodeBadRequest},
		{"/v1/data/subject/a?last=1&last=2", protocol.CodeBadRequest},
		{"/v1/data/subject/$JS.API.>", protocol.CodeReservedSubject},
		{"/v1/data/subject/a..b", protocol.CodeInvalidSubject},
	}
	for _, tc := range tests {
		sub, a := s.trySubscribe(t, tc.path, nil)
		require.Nil(t, sub, tc.path)
		assert.Equal(t, tc.code, a.code(), "%s: %+v", tc.path, a.Error)
		assert.Equal(t, tc.code.HTTPStatus(), a.Status, tc.path)
	}
	ok := s.subscribe(t, fmt.Sprintf("/v1/data/subject/a?since=%s", time.Now().Add(-time.Minute).Format(time.RFC3339)), nil)
	ok.none(t, 50*time.Millisecond)
}
