package httpmq

import (
	"context"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// LiveOptions choose where a live subscription starts: with none set,
// at the next message published; otherwise it first recovers stored
// messages (when a stream captures the subject) from one position.
type LiveOptions struct {
	// FromSeq recovers from this stream sequence on.
	FromSeq uint64
	// Since recovers the messages stored since this time.
	Since time.Time
	// Last recovers the last Last messages of the subject.
	Last int
}

// Listen subscribes to subject (wildcards allowed) live: its messages as
// they are published, without a consumer and without acknowledgements
// (the messages' Ack methods fail). When a stream captures the subject,
// every message carries its StreamSeq, and after a reconnect the session
// resumes the subscription after the last sequence it received, so
// nothing is missed or repeated while the stream still holds it;
// [Subscription.Recovered] says whether it did.
func (s *Session) Listen(ctx context.Context, subject string, opts *LiveOptions) (*Subscription, error) {
	sub := newSubscription("", "", nil)
	sub.subject = subject
	if opts != nil {
		sub.live = *opts
	}
	return s.start(ctx, sub)
}

// Subject is what a live subscription ([Session.Listen]) listens to; ""
// for a consumer's.
func (s *Subscription) Subject() string { return s.subject }

// Recovered reports whether a live subscription's last (re)subscribe
// found everything it asked to recover still stored. False means
// messages were missed (the stream discarded them, or no stream captures
// the subject): reload what depends on them.
func (s *Subscription) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// liveFrame is a live subscription's subscribe command: from the
// position asked at first, after the last sequence received once there
// is one.
func (sub *Subscription) liveFrame(id string) *protocol.Frame {
	f := &protocol.Frame{Type: protocol.TypeSubscribe, ID: id, Sub: sub.id, Subject: sub.subject}
	sub.mu.Lock()
	last := sub.lastSeq
	sub.mu.Unlock()
	switch {
	case last > 0:
		f.FromSeq = last + 1
	case sub.live.FromSeq > 0:
		f.FromSeq = sub.live.FromSeq
	case !sub.live.Since.IsZero():
		f.Since = sub.live.Since.UnixNano()
	case sub.live.Last > 0:
		f.Last = sub.live.Last
	}
	return f
}
