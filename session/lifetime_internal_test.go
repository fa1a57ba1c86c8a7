package session

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLifetime: contexts derived from a lifetime end with it, and leave
// nothing registered once they ended on their own.
func TestLifetime(t *testing.T) {
	l := newLifetime()
	require.NoError(t, l.Err())

	// A call's context that ends first unregisters.
	call, cancel := context.WithTimeout(l, time.Hour)
	cancel()
	<-call.Done()
	assert.Nil(t, l.funcs, "an ended child leaves nothing behind")

	// context.AfterFunc goes through the lifetime; stop unregisters.
	stop := context.AfterFunc(l, func() { t.Error("stopped AfterFunc ran") })
	assert.Len(t, l.funcs, 1)
	assert.True(t, stop())
	assert.False(t, stop(), "stopped twice")
	assert.Nil(t, l.funcs)

	// Ending the lifetime ends what is derived from it.
	child, cancelChild := context.WithTimeout(l, time.Hour)
	defer cancelChild()
	ran := make(chan struct{})
	context.AfterFunc(l, func() { close(ran) })
	l.cancel()
	l.cancel() // idempotent
	<-child.Done()
	<-ran
	<-l.Done()
	assert.ErrorIs(t, l.Err(), context.Canceled)
	assert.ErrorIs(t, child.Err(), context.Canceled)

	// After the end: AfterFunc runs at once, WithCancel is done at once.
	late := make(chan struct{})
	assert.False(t, context.AfterFunc(l, func() { close(late) })())
	<-late
	after, cancelAfter := context.WithCancel(l)
	defer cancelAfter()
	<-after.Done()

	// A write's context keeps the lifetime's AfterFunc and adds a deadline.
	w := &writeCtx{lifetime: newLifetime(), deadline: time.Now().Add(time.Minute)}
	d, ok := w.Deadline()
	assert.True(t, ok)
	assert.Equal(t, w.deadline, d)
	stop = context.AfterFunc(w, func() {})
	assert.Len(t, w.funcs, 1)
	stop()
	assert.Nil(t, w.funcs)
}
