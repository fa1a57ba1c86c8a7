package protocol_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

func TestValidate(t *testing.T) {
	sub := func(mod func(*protocol.Frame)) *protocol.Frame {
		f := &protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "s", Stream: "S", Consumer: "C"}
		mod(f)
		return f
	}
	ack := func(ft protocol.FrameType, mod func(*protocol.Frame)) *protocol.Frame {
		f := &protocol.Frame{Type: ft, Stream: "S", Consumer: "C", StreamSeq: 1, ConsumerSeq: 1}
		mod(f)
		return f
	}
	keep := func(*protocol.Frame) {}
	cases := []struct {
		name    string
		frame   *protocol.Frame
		code    protocol.Code // "" for valid
		inField string        // the message names this field
	}{
		{"subscribe minimal", sub(keep), "", ""},
		{"subscribe without id", sub(func(f *protocol.Frame) { f.ID = "" }), protocol.CodeBadRequest, `"id"`},
		{"subscribe id too long", sub(func(f *protocol.Frame) { f.ID = strings.Repeat("x", protocol.MaxIDLen+1) }), protocol.CodeBadRequest, `"id"`},
		{"subscribe id at limit", sub(func(f *protocol.Frame) { f.ID = strings.Repeat("x", protocol.MaxIDLen) }), "", ""},
		{"subscribe without sub", sub(func(f *protocol.Frame) { f.Sub = "" }), protocol.CodeBadRequest, `"sub"`},
		{"subscribe sub too long", sub(func(f *protocol.Frame) { f.Sub = strings.Repeat("x", 65) }), protocol.CodeBadRequest, `"sub"`},
		{"subscribe without stream", sub(func(f *protocol.Frame) { f.Stream = "" }), protocol.CodeBadRequest, `"stream"`},
		{"subscribe without consumer", sub(func(f *protocol.Frame) { f.Consumer = "" }), protocol.CodeBadRequest, `"consumer"`},
		{"subscribe negative max_inflight", sub(func(f *protocol.Frame) { f.MaxInflight = -1 }), protocol.CodeBadRequest, `"max_inflight"`},
		{"unsubscribe without sub", &protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "1"}, protocol.CodeBadRequest, `"sub"`},
		{"publish without subject", &protocol.Frame{Type: protocol.TypePublish, ID: "1"}, protocol.CodeBadRequest, `"subject"`},
		{"publish empty payload", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a"}, "", ""},
		{"publish header key with colon", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: protocol.Header{"a:b": {"1"}}}, protocol.CodeBadRequest, `"headers"`},
		{"publish header key with space", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: protocol.Header{"a b": {"1"}}}, protocol.CodeBadRequest, `"headers"`},
		{"publish header value with newline", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: protocol.Header{"A": {"1\r\nB: 2"}}}, protocol.CodeBadRequest, `"headers"`},
		{"publish empty header key", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: protocol.Header{"": {"1"}}}, protocol.CodeBadRequest, `"headers"`},
		{"publish too many headers", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: manyHeaders(protocol.MaxHeaders + 1)}, protocol.CodeBadRequest, `"headers"`},
		{"publish headers at limit", &protocol.Frame{Type: protocol.TypePublish, ID: "1", Subject: "a", Headers: manyHeaders(protocol.MaxHeaders)}, "", ""},
		{"ack fire and forget", ack(protocol.TypeAck, keep), "", ""},
		{"ack without stream_seq", ack(protocol.TypeAck, func(f *protocol.Frame) { f.StreamSeq = 0 }), protocol.CodeBadRequest, `"stream_seq"`},
		{"ack without consumer_seq", ack(protocol.TypeAck, func(f *protocol.Frame) { f.ConsumerSeq = 0 }), protocol.CodeBadRequest, `"consumer_seq"`},
		{"progress without stream", ack(protocol.TypeProgress, func(f *protocol.Frame) { f.Stream = "" }), protocol.CodeBadRequest, `"stream"`},
		{"term without consumer", ack(protocol.TypeTerm, func(f *protocol.Frame) { f.Consumer = "" }), protocol.CodeBadRequest, `"consumer"`},
		{"nak negative delay", ack(protocol.TypeNak, func(f *protocol.Frame) { f.Delay = -1 }), protocol.CodeBadRequest, `"delay"`},
		{"ping without id", &protocol.Frame{Type: protocol.TypePing}, protocol.CodeBadRequest, `"id"`},
		{"hello without session", &protocol.Frame{Type: protocol.TypeHello, Version: 1, MaxFrame: 1}, protocol.CodeBadRequest, `"session"`},
		{"hello without version", &protocol.Frame{Type: protocol.TypeHello, Session: "s", MaxFrame: 1}, protocol.CodeBadRequest, `"version"`},
		{"error without code", &protocol.Frame{Type: protocol.TypeError, ID: "1", Reason: "internal"}, protocol.CodeBadRequest, `"code"`},
		{"error with a success code", &protocol.Frame{Type: protocol.TypeError, ID: "1", Status: 200, Reason: "internal"}, protocol.CodeBadRequest, `"code"`},
		{"error without reason", &protocol.Frame{Type: protocol.TypeError, ID: "1", Status: 500}, protocol.CodeBadRequest, `"reason"`},
		{"msg without subject", &protocol.Frame{Type: protocol.TypeMsg, Sub: "s", Stream: "S", Consumer: "C", StreamSeq: 1, ConsumerSeq: 1}, protocol.CodeBadRequest, `"subject"`},
		{"closed without code", &protocol.Frame{Type: protocol.TypeClosed, Sub: "s", Reason: "unavailable"}, protocol.CodeBadRequest, `"code"`},
		{"closed without reason", &protocol.Frame{Type: protocol.TypeClosed, Sub: "s", Status: 503}, protocol.CodeBadRequest, `"reason"`},
		{"unknown type", &protocol.Frame{Type: "bogus", ID: "1"}, protocol.CodeUnknownFrameType, `"bogus"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.frame.Validate()
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			e, ok := protocol.AsError(err)
			require.True(t, ok, "want *Error, got %v", err)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Message, tc.inField)
		})
	}
}

func manyHeaders(n int) protocol.Header {
	h := protocol.Header{}
	for i := range n {
		h["K"+strings.Repeat("x", i)] = []string{"v"}
	}
	return h
}

func TestFrameTypeDirection(t *testing.T) {
	for _, ft := range allTypes {
		assert.True(t, ft.Known(), ft)
		assert.NotEqual(t, ft.FromClient(), ft.FromServer(), "%s travels one way", ft)
	}
	assert.False(t, protocol.FrameType("bogus").Known())
	assert.True(t, protocol.TypeNak.IsAck())
	assert.False(t, protocol.TypePublish.IsAck())
}

func TestValidateFromClient(t *testing.T) {
	err := (&protocol.Frame{Type: protocol.TypeMsg, Sub: "s"}).ValidateFromClient()
	e, ok := protocol.AsError(err)
	require.True(t, ok)
	assert.Equal(t, protocol.CodeUnknownFrameType, e.Code)
	require.NoError(t, (&protocol.Frame{Type: protocol.TypePing, ID: "1"}).ValidateFromClient())
	assert.Error(t, (&protocol.Frame{Type: protocol.TypePing}).ValidateFromClient())
}
