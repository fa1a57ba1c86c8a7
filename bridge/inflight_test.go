package bridge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestInflightExpiry(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	f := newInflight()
	f.set(1, at(10))
	f.set(2, at(11))
	f.set(3, at(12))
	f.remove(2)      // acked
	f.set(1, at(20)) // extended (in progress)
	assert.Equal(t, 2, f.len())

	expired, next := f.expire(at(11), nil)
	assert.Empty(t, expired, "1 was extended, 2 acked")
	assert.Equal(t, at(12), next)

	expired, next = f.expire(at(12), nil)
	assert.Equal(t, []uint64{3}, expired)
	assert.Equal(t, at(20), next)

	expired, next = f.expire(at(30), nil)
	assert.Equal(t, []uint64{1}, expired)
	assert.True(t, next.IsZero())
	assert.Zero(t, f.len())
}

func TestInflightCompacts(t *testing.T) {
	f := newInflight()
	now := time.Now()
	for i := range 10_000 {
		f.set(1, now.Add(time.Duration(i))) // the same delivery extended over and over
	}
	assert.Less(t, len(f.order), 100)
	assert.Equal(t, 1, f.len())
}
