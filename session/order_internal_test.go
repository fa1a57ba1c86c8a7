package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInOrder: commands of one key run one after the other, in the
// order given, however the goroutines are scheduled; other keys do not
// wait for them.
func TestInOrder(t *testing.T) {
	c := &Client{ctx: newLifetime(), pending: make(chan struct{}, 8), acking: map[ackKey]chan struct{}{}, subs: map[string]*subscription{}}
	a, b := ackKey{"S", "c", 1}, ackKey{"S", "c", 2}
	release := make(chan struct{})
	ran := make(chan string, 3)
	c.inOrder(a, func() { <-release; ran <- "a1" })
	c.inOrder(a, func() { ran <- "a2" })
	c.inOrder(b, func() { ran <- "b1" })
	select {
	case got := <-ran:
		assert.Equal(t, "b1", got, "another message's ack does not wait")
	case <-time.After(10 * time.Second):
		t.Fatal("b1 did not run")
	}
	select {
	case got := <-ran:
		t.Fatalf("%s ran before a1 finished", got)
	default:
	}
	close(release)
	for _, want := range []string{"a1", "a2"} {
		select {
		case got := <-ran:
			require.Equal(t, want, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not run", want)
		}
	}
	c.wg.Wait()
	assert.Empty(t, c.acking, "finished keys are forgotten")
}
