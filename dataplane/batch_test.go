package dataplane_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/protocol"
)

// batchAnswer is the answer of POST /v1/data/publish.
type batchAnswer struct {
	Status    int             `json:"-"`
	Success   bool            `json:"success"`
	RequestID string          `json:"request_id"`
	Error     *protocol.Error `json:"error"`
	protocol.BatchPublishResult
}

// batch posts body to /v1/data/publish and decodes the answer.
func (s *server) batch(t *testing.T, body []byte, header http.Header) batchAnswer {
	t.Helper()
	var a batchAnswer
	resp, raw := s.send(t, http.MethodPost, "/v1/data/publish", body, header, &a)
	a.Status = resp.StatusCode
	require.Equal(t, a.Success, a.Error == nil, "%s", raw)
	require.Equal(t, a.RequestID, resp.Header.Get("Httpmq-Request-ID"))
	return a
}

func batchBody(t *testing.T, msgs ...protocol.BatchMessage) []byte {
	t.Helper()
	b, err := json.Marshal(msgs)
	require.NoError(t, err)
	return b
}

// TestBatchPublish: every message of a batch has its own outcome, in
// request order: stored ones their stream and sequence (in order, for one
// stream), refused ones the error a single publish would answer.
func TestBatchPublish(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	createStream(t, b, "B", "b.>")
	for _, proto := range []string{"http1", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			srv := serveBridge(t, b, proto, dataplane.Options{})
			before := streamMsgs(t, b, "B")
			a := srv.batch(t, batchBody(t,
				protocol.BatchMessage{Subject: "b.one", Data: "SGVsbG8=", MsgID: proto + "-1", Headers: map[string][]string{"Trace": {"t1"}}},
				protocol.BatchMessage{Subject: "b.two", Data: "d29ybGQ"}, // unpadded
				protocol.BatchMessage{Subject: "nowhere", Data: "AA=="},
				protocol.BatchMessage{Subject: "$JS.API.STREAM.DELETE.B"},
				protocol.BatchMessage{Subject: "b.*", Data: "AA=="},
				protocol.BatchMessage{Subject: "b.three", Data: "not base64!"},
				protocol.BatchMessage{Subject: "b.four", Headers: map[string][]string{"nats-rollup": {"all"}}}, // any case
				protocol.BatchMessage{Subject: ""},
				protocol.BatchMessage{Subject: "b.one", Data: "SGVsbG8=", MsgID: proto + "-1"},
				protocol.BatchMessage{Subject: "b.five", Headers: map[string][]string{"Nats-Expected-Stream": {"OTHER"}}},
			), nil)
			require.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
			require.Len(t, a.Results, 10)
			assert.Equal(t, 3, a.Published)
			assert.Equal(t, 7, a.Failed)
			ok := func(i int) protocol.BatchResult {
				require.True(t, a.Results[i].Success, "message %d: %+v", i, a.Results[i].Error)
				assert.Equal(t, "B", a.Results[i].Stream)
				return a.Results[i]
			}
			first, second := ok(0), ok(1)
			assert.Equal(t, first.Sequence+1, second.Sequence, "stored in request order")
			assert.Equal(t, first.Sequence, before+1)
			dup := ok(8)
			assert.True(t, dup.Duplicate)
			assert.Equal(t, first.Sequence, dup.Sequence)
			for i, want := range map[int]protocol.Code{
				2: protocol.CodeNoStreamForSubject, 3: protocol.CodeReservedSubject, 4: protocol.CodeInvalidSubject,
				5: protocol.CodeBadRequest, 6: protocol.CodeReservedHeader, 7: protocol.CodeBadRequest,
				9: protocol.CodePreconditionFailed,
			} {
				require.False(t, a.Results[i].Success, "message %d", i)
				require.NotNil(t, a.Results[i].Error, "message %d", i)
				assert.Equal(t, want, a.Results[i].Error.Code, "message %d: %+v", i, a.Results[i].Error)
				assert.Equal(t, want.HTTPStatus(), a.Results[i].Error.Status, "message %d: code is the status a single publish answers", i)
			}
			assert.Equal(t, before+2, streamMsgs(t, b, "B"), "only the valid, new messages were stored")
			msg, err := b.StoredMessage(testenv.Context(t), "B", first.Sequence)
			require.NoError(t, err)
			assert.Equal(t, "Hello", string(msg.Data))
			assert.Equal(t, []string{"t1"}, msg.Header["Trace"])

			// NDJSON: one object per line, whatever the Content-Type.
			a = srv.batch(t, []byte(`{"subject":"b.n","data":"AQ=="}`+"\n"+`{"subject":"b.n","data":"Ag=="}`+"\n"),
				http.Header{"Content-Type": {"application/x-ndjson"}})
			require.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
			require.Len(t, a.Results, 2)
			assert.Equal(t, a.Results[0].Sequence+1, a.Results[1].Sequence)
		})
	}
}

// TestBatchPublishRefusedWhole: a body that is not a batch, too many
// messages or too many bytes are refused before anything is published.
func TestBatchPublishRefusedWhole(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	createStream(t, b, "B", "b.>")
	srv := serveBridge(t, b, "h2c", dataplane.Options{MaxBatchMessages: 2, MaxBatchBytes: 200})
	for _, c := range []struct {
		name   string
		body   string
		status int
		code   protocol.Code
	}{
		{"empty", "", 400, protocol.CodeBadRequest},
		{"empty array", "[]", 400, protocol.CodeBadRequest},
		{"not JSON", "hello", 400, protocol.CodeBadRequest},
		{"unknown field", `[{"subject":"b.a","payload":"AA=="}]`, 400, protocol.CodeBadRequest},
		{"wrong type", `[{"subject":"b.a","data":1}]`, 400, protocol.CodeBadRequest},
		{"not objects", `[1,2]`, 400, protocol.CodeBadRequest},
		{"unterminated", `[{"subject":"b.a"}`, 400, protocol.CodeBadRequest},
		{"trailing data", `[{"subject":"b.a"}] x`, 400, protocol.CodeBadRequest},
		{"too many", `[{"subject":"b.a"},{"subject":"b.a"},{"subject":"b.a"}]`, 400, protocol.CodeBadRequest},
		{"too many, NDJSON", "{\"subject\":\"b.a\"}\n{\"subject\":\"b.a\"}\n{\"subject\":\"b.a\"}\n", 400, protocol.CodeBadRequest},
		{"too large", `[{"subject":"b.a","data":"` + strings.Repeat("A", 300) + `"}]`, 413, protocol.CodeBodyTooLarge},
	} {
		a := srv.batch(t, []byte(c.body), nil)
		assert.Equal(t, c.status, a.Status, "%s: %+v", c.name, a.Error)
		if assert.NotNil(t, a.Error, c.name) {
			assert.Equal(t, c.code, a.Error.Code, "%s: %+v", c.name, a.Error)
		}
	}
	assert.Zero(t, streamMsgs(t, b, "B"), "nothing was published")
}

// TestBatchPublishAuthorization: each message is authorized on its own
// (subject and headers, as a single publish), and rate-limited.
func TestBatchPublishAuthorization(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	b := env.Bridge
	createStream(t, b, "B", "b.>")
	opts := jwtOptions(t)
	srv := serveBridge(t, b, "http1", opts)
	tok := bearer(t, auth.Permissions{Publish: []string{"b.ok"}})
	a := srv.batch(t, batchBody(t,
		protocol.BatchMessage{Subject: "b.ok", Data: "AA=="},
		protocol.BatchMessage{Subject: "b.no", Data: "AA=="},
		protocol.BatchMessage{Subject: "$JS.API.STREAM.DELETE.B"},
		protocol.BatchMessage{Subject: "b.ok", Headers: map[string][]string{"Nats-Expected-Last-Sequence": {"1"}}},
	), tok)
	require.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
	require.Len(t, a.Results, 4)
	assert.True(t, a.Results[0].Success)
	for i, want := range []protocol.Code{1: protocol.CodeForbidden, 2: protocol.CodeReservedSubject, 3: protocol.CodeForbidden} {
		if i == 0 {
			continue
		}
		require.NotNil(t, a.Results[i].Error, "message %d", i)
		assert.Equal(t, want, a.Results[i].Error.Code, "message %d", i)
		assert.Equal(t, http.StatusForbidden, a.Results[i].Error.Status, "message %d", i)
	}
	assert.Equal(t, uint64(1), streamMsgs(t, b, "B"))

	// Without credentials the whole request is refused.
	assert.Equal(t, http.StatusUnauthorized, srv.batch(t, batchBody(t, protocol.BatchMessage{Subject: "b.ok"}), nil).Status)

	// Rate limits count every message.
	frozen := time.Now() // no refill during the test
	limited := opts
	limited.Gate = &auth.Gate{Authn: opts.Gate.Authn, Authz: opts.Gate.Authz,
		Limits: auth.NewLimiter(auth.Limits{PublishRate: 2, Now: func() time.Time { return frozen }})}
	srv = serveBridge(t, b, "http1", limited)
	msgs := make([]protocol.BatchMessage, 5)
	for i := range msgs {
		msgs[i] = protocol.BatchMessage{Subject: "b.ok", Data: "AA=="}
	}
	a = srv.batch(t, batchBody(t, msgs...), tok)
	require.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
	assert.Equal(t, 2, a.Published, "the burst")
	assert.Equal(t, 3, a.Failed)
	assert.Equal(t, protocol.CodeRateLimited, a.Results[4].Error.Code)
}

func streamMsgs(t *testing.T, b *bridge.Bridge, name string) uint64 {
	t.Helper()
	si, err := b.Stream(testenv.Context(t), name)
	require.NoError(t, err)
	return si.State.Msgs
}
