package protocol_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

func TestBatches(t *testing.T) {
	frames := []*protocol.Frame{
		{Type: protocol.TypeMsg, Sub: "a", Subject: "s.1", Stream: "S", Consumer: "c", StreamSeq: 1, ConsumerSeq: 1, Deliveries: 1, Data: []byte("x\ny")},
		{Type: protocol.TypeOK, ID: "7", Stream: "S", Seq: 2},
		{Type: protocol.TypePong, ID: "8"},
	}
	for _, sp := range protocol.Subprotocols() {
		t.Run(sp, func(t *testing.T) {
			c, _ := protocol.CodecFor(sp)
			var msg []byte
			for _, f := range frames {
				b, err := c.Encode(f)
				require.NoError(t, err)
				msg = protocol.AppendFrame(c, msg, b)
			}
			var got []*protocol.Frame
			protocol.Frames(c, msg, func(f *protocol.Frame, err error) {
				require.NoError(t, err)
				got = append(got, f)
			})
			assert.Equal(t, frames, got)

			// A single frame is a message of its own.
			one, _ := c.Encode(frames[1])
			got = nil
			protocol.Frames(c, one, func(f *protocol.Frame, err error) {
				require.NoError(t, err)
				got = append(got, f)
			})
			assert.Equal(t, frames[1:2], got)
		})
	}
}

func TestBatchWithABadFrame(t *testing.T) {
	c := protocol.JSONCodec{}
	msg := []byte(`{"type":"ping","id":"1"}` + "\n" + `{"type":` + "\n" + `{"type":"ping","id":"2"}`)
	var ids []string
	var errs int
	protocol.Frames(c, msg, func(f *protocol.Frame, err error) {
		if err != nil {
			assert.True(t, errors.Is(err, protocol.ErrMalformed))
			errs++
			return
		}
		ids = append(ids, f.ID)
	})
	assert.Equal(t, []string{"1", "2"}, ids, "a bad JSON line spoils only itself")
	assert.Equal(t, 1, errs)

	m := protocol.MsgpackCodec{}
	good, _ := m.Encode(&protocol.Frame{Type: protocol.TypePing, ID: "1"})
	var n int
	protocol.Frames(m, append(append([]byte{}, good...), 0xc1, 0x00), func(f *protocol.Frame, err error) {
		n++
		if n == 1 {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, protocol.ErrMalformed)
		}
	})
	assert.Equal(t, 2, n)
}

// FuzzFrames: any message splits into frames or errors without panicking.
func FuzzFrames(f *testing.F) {
	f.Add([]byte(`{"type":"ping","id":"1"}`+"\n"+`{"type":"ping","id":"2"}`), false)
	f.Add([]byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'i', 'n', 'g', 0xa2, 'i', 'd', 0xa1, '1'}, true)
	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		var c protocol.Codec = protocol.JSONCodec{}
		if binary {
			c = protocol.MsgpackCodec{}
		}
		protocol.Frames(c, msg, func(f *protocol.Frame, err error) {
			if (f == nil) == (err == nil) {
				t.Fatalf("exactly one of frame and error: %v %v", f, err)
			}
		})
	})
}

func TestBatchDrainsWhatWaits(t *testing.T) {
	c := protocol.JSONCodec{}
	q := make(chan []byte, 300)
	first := []byte(`{"type":"pong","id":"0"}`)
	assert.Equal(t, first, protocol.Batch(c, nil, first, q), "nothing waiting: first alone")
	for i := 1; i < 300; i++ {
		b, _ := c.Encode(&protocol.Frame{Type: protocol.TypePong, ID: fmt.Sprint(i)})
		q <- b
	}
	msg := protocol.Batch(c, nil, first, q)
	n := 0
	protocol.Frames(c, msg, func(f *protocol.Frame, err error) {
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(n), f.ID, "in order")
		n++
	})
	assert.Equal(t, protocol.MaxBatchFrames, n)
	assert.Len(t, q, 299-(protocol.MaxBatchFrames-1), "the rest waits for the next message")
}
