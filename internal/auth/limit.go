package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are per-identity quotas ([NewLimiter]). Zero fields mean
// unlimited.
type Limits struct {
	// PublishRate is messages per second; bursts of up to one second's
	// worth (at least 1) pass at once.
	PublishRate float64
	// PublishBytes is payload bytes per second; the burst is one second's
	// worth or BytesBurst, whichever is larger.
	PublishBytes float64
	// BytesBurst is the largest single charge that must pass when the
	// bucket is full: set it to the largest message accepted.
	BytesBurst int
	// SessionsPerIdentity bounds the WebSocket sessions open at once.
	SessionsPerIdentity int
	// IdleAfter is how long an identity's limiter is kept unused before
	// it is forgotten (its bucket is full again by then). Default 10
	// minutes.
	IdleAfter time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Refused, when set, is told of every refusal, with
	// [RateLimitError.What] (for metrics). It is called with the
	// Limiter locked: it must return quickly and not call the Limiter.
	Refused func(what string)
}

// Limiter enforces [Limits] per identity key. It forgets identities idle
// for Limits.IdleAfter, so its memory follows the active identities, not
// every one ever seen. Safe for concurrent use.
type Limiter struct {
	l Limits

	mu        sync.Mutex
	quotas    map[string]*quota
	lastSweep time.Time
}

type quota struct {
	msgs, bytes *rate.Limiter // nil: unlimited
	sessions    int
	used        time.Time
}

// NewLimiter returns a Limiter for l.
func NewLimiter(l Limits) *Limiter {
	if l.IdleAfter <= 0 {
		l.IdleAfter = 10 * time.Minute
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &Limiter{l: l, quotas: map[string]*quota{}, lastSweep: l.Now()}
}

// get returns key's quota, creating it, and forgets idle ones now and
// then. l.mu must be held.
func (l *Limiter) get(key string, now time.Time) *quota {
	if now.Sub(l.lastSweep) >= l.l.IdleAfter/2 {
		l.lastSweep = now
		for k, q := range l.quotas {
			if q.sessions == 0 && now.Sub(q.used) >= l.l.IdleAfter {
				delete(l.quotas, k)
			}
		}
	}
	q := l.quotas[key]
	if q == nil {
		q = &quota{}
		if r := l.l.PublishRate; r > 0 {
			q.msgs = rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r))))
		}
		if r := l.l.PublishBytes; r > 0 {
			q.bytes = rate.NewLimiter(rate.Limit(r), max(l.l.BytesBurst, int(math.Ceil(r))))
		}
		l.quotas[key] = q
	}
	q.used = now
	return q
}

// Publish charges one message of size bytes to key, or returns a
// [*RateLimitError] saying when it would pass. A refused publish costs
// nothing.
func (l *Limiter) Publish(key string, size int) error {
	if l.l.PublishRate <= 0 && l.l.PublishBytes <= 0 {
		return nil
	}
	now := l.l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.get(key, now)
	var rm, rb *rate.Reservation
	wait, what := time.Duration(0), ""
	if q.msgs != nil {
		rm = q.msgs.ReserveN(now, 1)
		if d := rm.DelayFrom(now); d > wait {
			wait, what = d, "publish messages"
		}
	}
	if q.bytes != nil && size > 0 {
		rb = q.bytes.ReserveN(now, size)
		if !rb.OK() {
			wait, what = time.Duration(math.MaxInt64), "publish bytes"
		} else if d := rb.DelayFrom(now); d > wait {
			wait, what = d, "publish bytes"
		}
	}
	if wait == 0 {
		return nil
	}
	for _, r := range []*rate.Reservation{rm, rb} {
		if r != nil {
			r.CancelAt(now)
		}
	}
	if wait == time.Duration(math.MaxInt64) {
		wait = time.Minute // larger than any burst: will never pass; say so in a minute
	}
	return l.refuse(&RateLimitError{What: what, RetryAfter: wait})
}

// OpenSession counts a session of key, or returns a [*RateLimitError]
// when key has SessionsPerIdentity open. release, idempotent, ends it.
func (l *Limiter) OpenSession(key string) (release func(), err error) {
	if l.l.SessionsPerIdentity <= 0 {
		return func() {}, nil
	}
	now := l.l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.get(key, now)
	if q.sessions >= l.l.SessionsPerIdentity {
		return nil, l.refuse(&RateLimitError{What: "sessions", RetryAfter: time.Second})
	}
	q.sessions++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			q.sessions--
			q.used = l.l.Now()
			l.mu.Unlock()
		})
	}, nil
}

// refuse reports e to Limits.Refused and returns it.
func (l *Limiter) refuse(e *RateLimitError) error {
	if l.l.Refused != nil {
		l.l.Refused(e.What)
	}
	return e
}

// Identities is how many identities the limiter remembers.
func (l *Limiter) Identities() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.quotas)
}
