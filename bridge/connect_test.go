package bridge_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/testenv"
)

// freeAddr is a loopback address where nothing listens (a port the
// kernel just handed out and that was closed again).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// states records what Config.OnStateChange is told.
type states struct {
	mu  sync.Mutex
	got []bridge.ConnState
}

func (s *states) add(c bridge.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, c)
}

func (s *states) list() []bridge.ConnState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// TestConnectBeforeNATSIsUp: with a URL where no NATS listens yet,
// Connect returns a bridge that is not ready and keeps trying; once a
// server comes up there, the bridge connects by itself and works.
// Lost and regained connections are reported too.
func TestConnectBeforeNATSIsUp(t *testing.T) {
	addr := freeAddr(t)
	var st states
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bridge.Connect(ctx, bridge.Config{
		URLs: []string{"nats://" + addr}, RequestTimeout: time.Second,
		Logger: testenv.Logger(), OnStateChange: st.add,
	})
	require.NoError(t, err, "NATS not up yet is not an error")
	defer b.Close()
	require.ErrorIs(t, b.Ready(ctx), bridge.ErrUnavailable)
	assert.Equal(t, []bridge.ConnState{bridge.ConnConnecting}, st.list())
	assert.Equal(t, int64(1<<20), b.MaxPayload(), "NATS's default until a server says")

	srv, err := bridge.StartEmbedded(bridge.EmbeddedConfig{StoreDir: t.TempDir(), Listen: addr, Logger: testenv.Logger()})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.Ready(ctx) == nil }, 20*time.Second, 20*time.Millisecond)
	_, err = b.CreateStream(ctx, bridge.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	require.NoError(t, err)
	ack, err := b.Publish(ctx, bridge.Message{Subject: "s.a", Data: []byte("x")})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), ack.Sequence)

	srv.Shutdown()
	require.Eventually(t, func() bool { return slices.Contains(st.list(), bridge.ConnReconnecting) }, 20*time.Second, 20*time.Millisecond)
	b.Close()
	require.Eventually(t, func() bool { return slices.Contains(st.list(), bridge.ConnClosed) }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []bridge.ConnState{bridge.ConnConnecting, bridge.ConnConnected, bridge.ConnReconnecting, bridge.ConnClosed}, st.list())
}
