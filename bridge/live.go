package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrReplayOverrun: live messages arrived faster than a recovering
// subscription's replay caught up with them, beyond what the bridge
// holds for it. Subscribing again (from the last sequence received)
// resumes without loss.
var ErrReplayOverrun = errors.New("live messages outran the replay")

// LiveOptions choose what a [LiveSubscription] receives: the messages
// published to Subject from now on, and, when a stream captures Subject,
// first the stored ones from a position (at most one of FromSeq, Since,
// Last).
type LiveOptions struct {
	// Subject may hold wildcards. Reserved subjects ([Reserved]) are
	// refused, and messages on them never delivered.
	Subject string
	// FromSeq replays from this stream sequence on (a client that saw N
	// asks for N+1).
	FromSeq uint64
	// Since replays the messages stored at or after this time.
	Since time.Time
	// Last replays the last Last messages of the subject.
	Last int
	// MaxBuffer bounds the bytes of live messages held while a replay
	// catches up with them; over it the subscription ends with
	// [ErrReplayOverrun]. ≤ 0: 8 MiB.
	MaxBuffer int
}

func (o LiveOptions) recovering() bool { return o.FromSeq > 0 || !o.Since.IsZero() || o.Last > 0 }

// LiveSubscription receives a subject's messages without acknowledgements.
// All the live subscriptions of a subject on one bridge share one NATS
// subscription (a feed): a JetStream ordered consumer when a stream
// captures the subject, so that every message carries its stream
// sequence, else a core NATS subscription.
//
// A recovering subscription first replays stored messages through an
// ordered consumer of its own, holding the live messages that arrive
// meanwhile, and switches to them once the replay has caught up: in
// stream order, without gap or duplicate.
type LiveSubscription struct {
	b         *Bridge
	f         *feed
	recv      Receiver
	recovered bool
	maxBuf    int

	dmu sync.Mutex // held while delivering: keeps deliveries in order

	mu        sync.Mutex
	ended     bool
	replaying bool
	held      []*Delivery // live messages that arrived during the replay
	heldBytes int
	last      uint64 // stream sequence of the last message delivered
	paused    bool
	unpaused  chan struct{} // closed when a pause ends
	stop      context.CancelFunc
}

// Stream is the stream whose sequences the messages carry, "" when no
// stream captures the subject (the messages then have no sequence).
func (s *LiveSubscription) Stream() string { return s.f.stream }

// Recovered reports whether everything the subscription asked to replay
// was still stored: false when the stream had discarded some of it (or
// no stream captures the subject), so the subscriber missed messages
// and should reload its state.
func (s *LiveSubscription) Recovered() bool { return s.recovered }

// InFlight is always 0: live messages are not acknowledged.
func (s *LiveSubscription) InFlight() int { return 0 }

// SetPaused pauses a replay (the subscriber's transport is full). Live
// messages are never paused: a subscriber that cannot take them is cut
// off by its transport's bound.
func (s *LiveSubscription) SetPaused(paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if paused == s.paused {
		return
	}
	s.paused = paused
	if paused {
		s.unpaused = make(chan struct{})
	} else {
		close(s.unpaused)
	}
}

// Close ends the subscription; the Receiver hears nothing more.
func (s *LiveSubscription) Close() { s.finish(nil, false) }

// Drain ends the subscription: live messages are not acknowledged, so
// nothing is on its way that needs waiting for.
func (s *LiveSubscription) Drain(context.Context) { s.Close() }

func (s *LiveSubscription) finish(err error, tell bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.held = nil
	if s.stop != nil {
		s.stop()
	}
	if s.paused {
		close(s.unpaused)
		s.paused = false
	}
	s.mu.Unlock()
	s.b.leaveFeed(s.f, s)
	if tell {
		s.recv.Ended(err)
	}
}

// live takes a message from the feed.
func (s *LiveSubscription) live(d *Delivery) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if s.replaying {
		s.held = append(s.held, d)
		s.heldBytes += len(d.Data) + len(d.Subject) + 64
		over := s.heldBytes > s.maxBuf
		s.mu.Unlock()
		if over {
			s.finish(fmt.Errorf("%w: more than %d bytes arrived while replaying", ErrReplayOverrun, s.maxBuf), true)
		}
		return
	}
	if d.StreamSeq != 0 && d.StreamSeq <= s.last {
		s.mu.Unlock()
		return
	}
	s.last = max(s.last, d.StreamSeq)
	s.mu.Unlock()
	s.recv.Deliver(d)
}

// replayed hands over a stored message; it reports false once the
// subscription ended.
//
// A message at or past the first live one held is not delivered here
// but joins the held ones (unless it is among them), and the replay has
// reached them (see reached): the stream may have skipped ahead, having
// discarded what the replay had not read yet, and the live messages in
// between must not be passed over.
func (s *LiveSubscription) replayed(d *Delivery) bool {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	if len(s.held) > 0 && d.StreamSeq >= s.held[0].StreamSeq {
		i, found := slices.BinarySearchFunc(s.held, d.StreamSeq, func(h *Delivery, seq uint64) int {
			return cmp.Compare(h.StreamSeq, seq)
		})
		if !found {
			s.held = slices.Insert(s.held, i, d)
			s.heldBytes += len(d.Data) + len(d.Subject) + 64
		}
		s.mu.Unlock()
		return true
	}
	fresh := d.StreamSeq > s.last
	s.last = max(s.last, d.StreamSeq)
	s.mu.Unlock()
	if fresh {
		s.recv.Deliver(d)
	}
	return true
}

// reached reports whether the replay, at stream sequence seq, reached
// the live messages held: they follow it without a gap.
func (s *LiveSubscription) reached(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held) > 0 && s.held[0].StreamSeq <= seq+1
}

// caughtUp ends the replay: the held live messages it did not cover
// follow, then the live ones as they come.
func (s *LiveSubscription) caughtUp() {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.mu.Lock()
	if s.ended || !s.replaying {
		s.mu.Unlock()
		return
	}
	var next []*Delivery
	for _, d := range s.held {
		if d.StreamSeq > s.last {
			s.last = d.StreamSeq
			next = append(next, d)
		}
	}
	s.held, s.heldBytes, s.replaying = nil, 0, false
	s.mu.Unlock()
	for _, d := range next {
		s.recv.Deliver(d)
	}
}

// waitUnpaused blocks while the subscription is paused; false once it
// ended or ctx is done.
func (s *LiveSubscription) waitUnpaused(ctx context.Context) bool {
	for {
		s.mu.Lock()
		ended, paused, ch := s.ended, s.paused, s.unpaused
		s.mu.Unlock()
		if ended {
			return false
		}
		if !paused {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// Listen starts a live subscription to o.Subject for recv.
func (b *Bridge) Listen(ctx context.Context, o LiveOptions, recv Receiver) (*LiveSubscription, error) {
	if err := ValidateSubject(o.Subject, true); err != nil {
		return nil, err
	}
	if Reserved(o.Subject) {
		return nil, fmt.Errorf("%w: %s", ErrReservedSubject, o.Subject)
	}
	n := 0
	for _, set := range []bool{o.FromSeq > 0, !o.Since.IsZero(), o.Last > 0} {
		if set {
			n++
		}
	}
	if n > 1 || o.Last < 0 {
		return nil, fmt.Errorf("%w: recover from one position at most: a sequence, a time or a count", ErrInvalidConfig)
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = 8 << 20
	}
	s := &LiveSubscription{b: b, recv: recv, maxBuf: o.MaxBuffer, replaying: o.recovering()}
	f, err := b.joinFeed(ctx, o.Subject, s)
	if err != nil {
		return nil, err
	}
	s.f = f
	if !o.recovering() {
		return s, nil
	}
	if f.stream == "" {
		s.replaying = false // nothing stored to recover from
		return s, nil
	}
	if err := s.startReplay(ctx, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// startReplay creates the replay's ordered consumer and reads it on a
// goroutine of its own until it has caught up.
func (s *LiveSubscription) startReplay(ctx context.Context, o LiveOptions) error {
	b := s.b
	rctx, cancel := b.ctx(ctx)
	defer cancel()
	st, err := b.js.Stream(rctx, s.f.stream)
	if err != nil {
		return classify(err)
	}
	state := st.CachedInfo().State
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{s.f.subject}}
	last := uint64(0) // for Last: how many of the messages there are now to replay
	switch {
	case o.FromSeq > 0:
		s.recovered = o.FromSeq >= state.FirstSeq && o.FromSeq <= state.LastSeq+1
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = min(max(o.FromSeq, state.FirstSeq), state.LastSeq+1)
	case !o.Since.IsZero():
		s.recovered = state.FirstSeq <= 1 || !state.FirstTime.After(o.Since)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		since := o.Since
		cfg.OptStartTime = &since
	default:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		last = uint64(o.Last)
	}
	oc, err := st.OrderedConsumer(rctx, cfg)
	if err != nil {
		return classify(err)
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return classify(err)
	}
	pending := uint64(0)
	if ci := oc.CachedInfo(); ci != nil {
		pending = ci.NumPending
	}
	skip := uint64(0) // messages to pass over before the last ones
	if o.Last > 0 {
		s.recovered = state.FirstSeq <= 1 || pending >= last
		skip = pending - min(pending, last)
	}
	if pending == 0 {
		it.Stop()
		s.caughtUp()
		return nil
	}
	gctx, stop := context.WithCancel(context.Background())
	s.mu.Lock()
	s.stop = func() { stop(); it.Stop() }
	s.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer it.Stop()
		for s.waitUnpaused(gctx) {
			m, err := it.Next()
			switch {
			case err == nil:
			case gctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed):
				return
			case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, nats.ErrConnectionClosed):
				s.finish(classify(err), true)
				return
			default:
				continue // the ordered consumer recreates itself where it was
			}
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if skip > 0 {
				skip--
			} else if !s.replayed(jsDelivery(s.f.stream, m, md)) {
				return
			}
			if md.NumPending == 0 || s.reached(md.Sequence.Stream) {
				s.caughtUp()
				return
			}
		}
	}()
	return nil
}

func jsDelivery(stream string, m jetstream.Msg, md *jetstream.MsgMetadata) *Delivery {
	return &Delivery{Stream: stream, Subject: m.Subject(), StreamSeq: md.Sequence.Stream,
		Time: md.Timestamp, Header: m.Headers(), Data: m.Data()}
}

// feed is one bridge's NATS subscription to a subject, shared by its
// live subscriptions.
type feed struct {
	b       *Bridge
	subject string
	stream  string // the stream capturing subject; "" when none
	ready   chan struct{}
	err     error // why it could not start; set before ready closes
	stop    func()

	mu      sync.Mutex
	members map[*LiveSubscription]struct{}
}

// joinFeed adds s to the feed of subject, starting one when there is
// none.
func (b *Bridge) joinFeed(ctx context.Context, subject string, s *LiveSubscription) (*feed, error) {
	b.fmu.Lock()
	f := b.feeds[subject]
	if f == nil {
		f = &feed{b: b, subject: subject, ready: make(chan struct{}), members: map[*LiveSubscription]struct{}{}}
		b.feeds[subject] = f
		b.fmu.Unlock()
		f.err = f.start(ctx)
		close(f.ready)
		if f.err != nil {
			b.fmu.Lock()
			if b.feeds[subject] == f {
				delete(b.feeds, subject)
			}
			b.fmu.Unlock()
		}
	} else {
		b.fmu.Unlock()
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, classify(ctx.Err())
	}
	if f.err != nil {
		return nil, f.err
	}
	b.fmu.Lock()
	defer b.fmu.Unlock()
	if b.feeds[subject] != f { // it stopped (its last member left) meanwhile
		return nil, fmt.Errorf("%w: the subject's feed stopped; subscribe again", ErrSubscriptionClosed)
	}
	f.mu.Lock()
	f.members[s] = struct{}{}
	f.mu.Unlock()
	return f, nil
}

// leaveFeed removes s from f, stopping f when it was the last member.
func (b *Bridge) leaveFeed(f *feed, s *LiveSubscription) {
	if f == nil {
		return
	}
	b.fmu.Lock()
	f.mu.Lock()
	delete(f.members, s)
	last := len(f.members) == 0
	f.mu.Unlock()
	if last && b.feeds[f.subject] == f {
		delete(b.feeds, f.subject)
	} else {
		last = false
	}
	b.fmu.Unlock()
	if last && f.stop != nil {
		f.stop()
	}
}

// start subscribes: through an ordered consumer of the stream that
// captures the whole subject, else through core NATS.
func (f *feed) start(ctx context.Context) error {
	b := f.b
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	stream, err := b.capturing(ctx, f.subject)
	if err != nil {
		return err
	}
	f.stream = stream
	if stream == "" {
		sub, err := b.d.subscribe(b.nc, f.subject, "", f.onCore)
		if err != nil {
			return classify(err)
		}
		f.stop = func() {
			b.d.forget(sub)
			_ = sub.Unsubscribe()
		}
		return nil
	}
	oc, err := b.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{f.subject}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return classify(err)
	}
	cc, err := oc.Consume(f.onJS, jetstream.ConsumeErrHandler(f.onError))
	if err != nil {
		return classify(err)
	}
	f.stop = cc.Stop
	return nil
}

// capturing names the stream that captures every subject subject
// covers, or "" when none does.
func (b *Bridge) capturing(ctx context.Context, subject string) (string, error) {
	name, err := b.js.StreamNameBySubject(ctx, subject)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", nil
	}
	if err != nil {
		return "", classify(err)
	}
	st, err := b.js.Stream(ctx, name)
	if err != nil {
		return "", classify(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.SubjectTransform != nil {
		return "", nil
	}
	for _, s := range cfg.Subjects {
		if SubjectMatches(s, subject) {
			return name, nil
		}
	}
	return "", nil
}

// snapshot lists the members.
func (f *feed) snapshot() []*LiveSubscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*LiveSubscription, 0, len(f.members))
	for s := range f.members {
		out = append(out, s)
	}
	return out
}

func (f *feed) onCore(m *nats.Msg) {
	if Reserved(m.Subject) {
		return
	}
	d := &Delivery{Subject: m.Subject, Time: time.Now(), Header: m.Header, Data: m.Data}
	for _, s := range f.snapshot() {
		s.live(d)
	}
}

func (f *feed) onJS(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil || Reserved(m.Subject()) {
		return
	}
	d := jsDelivery(f.stream, m, md)
	for _, s := range f.snapshot() {
		s.live(d)
	}
}

// onError ends the feed's subscriptions when its stream is gone; the
// ordered consumer recovers from everything else by itself.
func (f *feed) onError(_ jetstream.ConsumeContext, err error) {
	if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrConsumerDeleted) &&
		!errors.Is(err, jetstream.ErrConsumerNotFound) {
		return
	}
	ctx, cancel := f.b.ctx(context.Background())
	defer cancel()
	if _, serr := f.b.js.Stream(ctx, f.stream); !errors.Is(serr, jetstream.ErrStreamNotFound) {
		return
	}
	for _, s := range f.snapshot() {
		s.finish(fmt.Errorf("%w: %s", ErrStreamNotFound, f.stream), true)
	}
}

// Feeds counts the subjects this bridge holds a NATS subscription for,
// on behalf of live subscriptions.
func (b *Bridge) Feeds() int {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	return len(b.feeds)
}

// closeFeeds ends every live subscription with why.
func (b *Bridge) closeFeeds(why error) {
	b.fmu.Lock()
	feeds := b.feeds
	b.feeds = map[string]*feed{}
	b.fmu.Unlock()
	for _, f := range feeds {
		for _, s := range f.snapshot() {
			s.finish(why, true)
		}
		if f.stop != nil {
			f.stop()
		}
	}
}
