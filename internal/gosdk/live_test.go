package gosdk_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// TestListenResumesAcrossRestart: a live subscription recovers from a
// sequence, and after the server restarts the session resumes it after
// the last sequence received: every message once, in order, including
// those published while it was away.
func TestListenResumesAcrossRestart(t *testing.T) {
	r := newRestartable(t)
	_, err := r.srv.admin().CreateStream(ctx(t), httpmq.NewStream{Name: "PRICES", Subjects: []string{"prices.>"}})
	require.NoError(t, err)
	opts := httpmq.SessionOptions{ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 300 * time.Millisecond}
	var ev events
	opts.OnEvent = ev.add
	s := r.srv.dial(t, &opts)
	publish := func(from, to int) {
		data := r.srv.data()
		for i := from; i <= to; i++ {
			_, err := data.Publish(ctx(t), "prices.eur", []byte(fmt.Sprint(i)), nil)
			require.NoError(t, err)
		}
	}
	publish(1, 5)
	sub, err := s.Listen(ctx(t), "prices.*", &httpmq.LiveOptions{FromSeq: 3})
	require.NoError(t, err)
	assert.True(t, sub.Recovered())
	assert.Equal(t, "prices.*", sub.Subject())
	next := func(want uint64) {
		t.Helper()
		m, err := sub.Next(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, want, m.StreamSeq)
		assert.Equal(t, fmt.Sprint(want), string(m.Data))
		assert.Empty(t, m.Consumer)
	}
	for seq := uint64(3); seq <= 5; seq++ {
		next(seq)
	}

	r.stop()
	waitFor(t, "the session to notice", func() bool { return ev.count(httpmq.EventDisconnected) > 0 })
	r.start()
	publish(6, 8) // while the session may still be away
	waitFor(t, "the subscription restored", func() bool { return ev.count(httpmq.EventResubscribed) > 0 })
	publish(9, 10)
	for seq := uint64(6); seq <= 10; seq++ {
		next(seq)
	}
	assert.True(t, sub.Recovered(), "resumed with nothing missed")
}

// TestSessionReadsMessagesOfEverySize: a session reuses one read buffer
// for the messages of a connection and lets a large one's go; messages
// read earlier keep their own bytes whatever comes after them.
func TestSessionReadsMessagesOfEverySize(t *testing.T) {
	srv := startServer(t, http1)
	_, err := srv.admin().CreateStream(ctx(t), httpmq.NewStream{Name: "SIZES", Subjects: []string{"sizes.>"}})
	require.NoError(t, err)
	sizes := []int{10, 300 << 10, 5, 70 << 10, 1, 200 << 10, 64}
	for _, enc := range encodings {
		t.Run(string(enc), func(t *testing.T) {
			s := srv.dial(t, &httpmq.SessionOptions{Encoding: enc})
			sub, err := s.Listen(ctx(t), "sizes."+string(enc), nil)
			require.NoError(t, err)
			want := make([][]byte, len(sizes))
			for i, n := range sizes {
				want[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
				_, err := srv.data().Publish(ctx(t), "sizes."+string(enc), want[i], nil)
				require.NoError(t, err)
			}
			got := make([][]byte, len(sizes))
			for i := range sizes {
				m, err := sub.Next(ctx(t))
				require.NoError(t, err)
				got[i] = m.Data
			}
			for i := range sizes { // compared once all are read
				assert.Equal(t, want[i], got[i], "message %d (%d bytes)", i, sizes[i])
			}
		})
	}
}
