package dataplane_test

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
)

// TestSeedWalkthrough is the original README's dataplane session, over
// HTTP/1.1, HTTP/2 with TLS and h2c with prior knowledge. The ack wait
// is longer than the server's read and write timeouts, so the stream
// must outlive them.
func TestSeedWalkthrough(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			env, srv := newDataplane(t, proto, dataplane.Options{})
			b := env.Bridge
			createStream(t, b, "testStream00", "test-subject.00", "test-subject.01")
			const ackWait = serverTimeout + 500*time.Millisecond
			createConsumer(t, b, "testStream00", bridge.ConsumerConfig{Name: "testConsumer00", Push: true,
				MaxAckPending: 4, FilterSubjects: []string{"test-subject.01"}, AckWait: ackWait})

			// echo 'Hello World' | base64, as the README sends it.
			pub := srv.publish(t, "test-subject.01", "SGVsbG8gV29ybGQK\n")
			assert.Equal(t, dataplane.PublishResult{Stream: "testStream00", Sequence: 1}, pub)

			sub := srv.subscribe(t, "/v1/data/stream/testStream00/consumer/testConsumer00?subject_name=test-subject.01", nil)
			assert.Equal(t, "application/x-ndjson", sub.resp.Header.Get("Content-Type"))
			d := sub.next(t)
			assert.Equal(t, "testStream00", d.Stream)
			assert.Equal(t, "test-subject.01", d.Subject)
			assert.Equal(t, "testConsumer00", d.Consumer)
			assert.Equal(t, dataplane.Sequence{Stream: 1, Consumer: 1}, d.Sequence)
			assert.Equal(t, []byte("Hello World\n"), d.B64Msg)
			assert.Equal(t, uint64(1), d.Deliveries)
			assert.WithinDuration(t, time.Now(), d.Timestamp, time.Minute)
			assert.Equal(t, sub.resp.Header.Get("Httpmq-Request-ID"), d.RequestID)

			// Not acked within the ack wait: the same stream sequence comes
			// again with the next consumer sequence.
			start := time.Now()
			d2 := sub.next(t)
			assert.Equal(t, dataplane.Sequence{Stream: 1, Consumer: 2}, d2.Sequence)
			assert.Equal(t, uint64(2), d2.Deliveries)
			assert.Greater(t, time.Since(start), serverTimeout/2)

			a := srv.ack(t, "ack", "testStream00", "testConsumer00", map[string]uint64{"consumer": 2, "stream": 1})
			assert.Equal(t, http.StatusOK, a.Status)
			assert.True(t, a.Success)
			// The same ack again is a retry: it succeeds, marked duplicate,
			// and changes nothing.
			a = srv.ack(t, "ack", "testStream00", "testConsumer00", map[string]uint64{"consumer": 2, "stream": 1})
			assert.Equal(t, http.StatusOK, a.Status)
			assert.True(t, a.Duplicate)

			// A second message, acked promptly, is not redelivered.
			pub = srv.publish(t, "test-subject.01", base64.StdEncoding.EncodeToString([]byte("again")))
			assert.Equal(t, uint64(2), pub.Sequence)
			d3 := sub.next(t)
			assert.Equal(t, dataplane.Sequence{Stream: 2, Consumer: 3}, d3.Sequence)
			srv.ackOK(t, d3)
			sub.none(t, ackWait+300*time.Millisecond)
		})
	}
}

// TestPayloads publishes binary payloads in every accepted encoding and
// receives them byte-exact.
func TestPayloads(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "h2-tls", dataplane.Options{})
	b := env.Bridge
	createStream(t, b, "S", "bin.>")
	createConsumer(t, b, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c?max_msg_inflight=100", nil)

	every := make([]byte, 256*4)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8)
	}
	wrapped := func(b []byte) []byte { // as `base64` prints it: 76 columns
		s := base64.StdEncoding.EncodeToString(b)
		var out []byte
		for len(s) > 76 {
			out = append(out, s[:76]+"\n"...)
			s = s[76:]
		}
		return append(out, s+"\n"...)
	}
	cases := []struct {
		name    string
		payload []byte
		body    []byte
		header  http.Header
		query   string
	}{
		{"base64 all byte values", every, []byte(base64.StdEncoding.EncodeToString(every)), nil, ""},
		{"base64 200 KB line-wrapped", big, wrapped(big), http.Header{"Content-Type": {"application/octet-stream"}}, ""},
		{"base64 url-safe unpadded", every[:100], []byte(base64.RawURLEncoding.EncodeToString(every[:100])), nil, ""},
		{"raw by header", every, every, http.Header{"Httpmq-Body-Encoding": {"raw"}}, ""},
		{"raw by query, 200 KB", big, big, nil, "?encoding=raw"},
		{"empty", []byte{}, nil, nil, ""},
	}
	for i, c := range cases {
		a := srv.do(t, http.MethodPost, "/v1/data/subject/bin."+c.name[:3]+c.query, c.body, c.header)
		require.Equal(t, http.StatusOK, a.Status, "%s: %+v", c.name, a.Error)
		d := sub.next(t)
		assert.Equal(t, uint64(i+1), d.Sequence.Stream, c.name)
		assert.Equal(t, c.payload, d.B64Msg, c.name)
		srv.ackOK(t, d)
	}
}

// TestHeadersAndDedup maps Httpmq-Header-* onto NATS headers and
// Httpmq-Msg-Id onto JetStream de-duplication.
func TestHeadersAndDedup(t *testing.T) {
	t.Parallel()
	env, srv := newDataplane(t, "http1", dataplane.Options{})
	createStream(t, env.Bridge, "S", "s")
	createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", AckWait: time.Minute})
	h := http.Header{
		"Httpmq-Msg-Id":          {"order-17"},
		"Httpmq-Header-X-Trace":  {"abc"},
		"Httpmq-Header-Tenant":   {"a", "b"},
		"Httpmq-Body-Encoding":   {"raw"},
		"Some-Unrelated-Header":  {"ignored"},
		"Httpmq-Header-x-lower":  {"canonicalised"},
		"Httpmq-Header-Content":  {"x"},
		"Httpmq-Header-Priority": {"9"},
	}
	a := srv.do(t, http.MethodPost, "/v1/data/subject/s", []byte("payload"), h)
	require.Equal(t, http.StatusOK, a.Status, "%+v", a.Error)
	assert.Equal(t, dataplane.PublishResult{Stream: "S", Sequence: 1}, a.PublishResult)
	again := srv.do(t, http.MethodPost, "/v1/data/subject/s", []byte("payload"), h)
	require.Equal(t, http.StatusOK, again.Status)
	assert.Equal(t, dataplane.PublishResult{Stream: "S", Sequence: 1, Duplicate: true}, again.PublishResult)

	sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", nil)
	d := sub.next(t)
	assert.Equal(t, []string{"abc"}, d.Headers["X-Trace"])
	assert.Equal(t, []string{"a", "b"}, d.Headers["Tenant"])
	assert.Equal(t, []string{"canonicalised"}, d.Headers["X-Lower"])
	assert.Equal(t, []string{"order-17"}, d.Headers["Nats-Msg-Id"])
	assert.NotContains(t, d.Headers, "Some-Unrelated-Header")
	srv.ackOK(t, d)
	sub.none(t, 200*time.Millisecond) // the duplicate was not stored
}
