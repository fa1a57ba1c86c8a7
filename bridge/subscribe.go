package bridge

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscribeOptions choose what a [Subscription] reads.
type SubscribeOptions struct {
	Stream, Consumer string
	// Filter, when set, must equal or cover the consumer's filter
	// subjects: one subscriber cannot narrow a consumer.
	Filter string
	// Group must match the delivery group of a consumer that has one;
	// empty takes the consumer's.
	Group string
	// MaxInFlight caps this subscriber's unacknowledged deliveries.
	// ≤ 0 takes the consumer's max ack pending (1000 when unlimited).
	// JetStream push consumers (made outside httpmq) push up to their
	// max ack pending whatever a subscriber asks: for them the cap is
	// always that.
	MaxInFlight int
	// MaxBytes bounds the bytes one pull request may bring (never below
	// NATS's max payload, so that any message fits); 0 leaves them to
	// MaxInFlight alone. A subscriber whose transport has a byte budget
	// sets it, so that a window of large messages cannot overrun it.
	MaxBytes int
}

// Delivery is one message handed to a subscriber.
type Delivery struct {
	Stream, Consumer string
	// Subject the message was published to.
	Subject     string
	StreamSeq   uint64
	ConsumerSeq uint64
	// Deliveries counts deliveries of this message, this one included.
	Deliveries uint64
	// Pending is how many messages the consumer holds after this one.
	Pending uint64
	// Time the message was stored.
	Time   time.Time
	Header map[string][]string
	Data   []byte
}

// AckRequest acknowledges this delivery with the given kind.
func (d *Delivery) AckRequest(kind AckKind) AckRequest {
	return AckRequest{Stream: d.Stream, Consumer: d.Consumer, StreamSeq: d.StreamSeq,
		ConsumerSeq: d.ConsumerSeq, Deliveries: d.Deliveries, Kind: kind}
}

// Receiver is the subscriber's side of a [Subscription]. Its methods are
// called one at a time, on the bridge's dispatcher goroutine: they must
// return quickly and never block.
type Receiver interface {
	// Deliver hands a message over: from now on it is the subscriber's
	// to answer, within the consumer's ack wait.
	Deliver(d *Delivery)
	// Ended says the subscription ended without being closed: the
	// consumer or its stream was deleted (ErrConsumerNotFound,
	// ErrStreamNotFound), JetStream refused it, or the bridge closed
	// (ErrClosed). It is called once, from any goroutine, and not after
	// Close has returned.
	Ended(err error)
}

// Subscription reads one consumer for one subscriber, who holds at most
// MaxInFlight unacknowledged deliveries: JetStream is asked for no more
// messages than the subscriber has room for (a pull request per free
// credit), and each one is handed to the [Receiver] as it arrives, so
// nothing waits in httpmq while its ack wait runs. Acknowledgements made
// through any instance, or straight to NATS, return credit; so does the
// end of a delivery's ack wait.
//
// Every method may be called from any goroutine.
type Subscription struct {
	b       *Bridge
	w       *consumerWatch
	key     consumerKey
	recv    Receiver
	pull    bool
	max     int
	ackWait time.Duration
	backoff []time.Duration
	batch   int    // most messages one pull request may ask for
	bytes   int64  // most bytes one pull request may bring; 0: no limit
	next    string // the consumer's pull request subject
	inbox   string // pull requests' reply subjects start with it

	nsub *nats.Subscription

	mu          sync.Mutex
	state       subState
	err         error
	paused      bool
	inflight    int           // deliveries awaiting their ack
	reqs        []pullRequest // live pull requests (a few at most)
	outstanding int           // messages asked for and not delivered yet
	arriving    int           // delivered by a pull request, not yet counted in flight
	nreq        uint64
	heard       time.Time     // last word from JetStream on a pull request
	retryAt     time.Time     // no pull request before (after a refusal)
	timer       *time.Timer   // checks pull requests for silence, ends back-offs
	crossed     int           // deliveries that arrived after the subscriber left
	withdrawn   bool          // NATS was told the subscriber is gone
	served      chan struct{} // Drain: closed when no request is open
	done        chan struct{}
}

type subState int

const (
	active   subState = iota
	draining          // no more pull requests; deliveries on their way still handed over
	ended
)

// Pull requests: how long one waits for messages, and how often
// JetStream says it still waits. A request silent for lostAfter is
// taken for lost (a server restarted, a leader moved) and made again.
const (
	pullExpiry    = 30 * time.Second
	pullHeartbeat = 5 * time.Second
	lostAfter     = 3 * pullHeartbeat
	maxPullBatch  = 1024
)

// Subscribe starts reading a consumer for recv. Any number of
// subscribers may share a consumer (JetStream hands each message to one
// of them), except a JetStream push consumer without a delivery group,
// which admits one subscriber at a time ([ErrConsumerBusy]).
func (b *Bridge) Subscribe(ctx context.Context, o SubscribeOptions, recv Receiver) (*Subscription, error) {
	if o.Filter != "" {
		if err := ValidateSubject(o.Filter, true); err != nil {
			return nil, err
		}
	}
	ci, err := b.subscribable(ctx, o)
	if err != nil {
		return nil, err
	}
	cfg := ci.Config
	s := &Subscription{
		b: b, key: consumerKey{o.Stream, o.Consumer}, recv: recv,
		pull: cfg.DeliverSubject == "", ackWait: cfg.AckWait, backoff: cfg.BackOff,
		batch: maxPullBatch, done: make(chan struct{}),
		next: "$JS.API.CONSUMER.MSG.NEXT." + o.Stream + "." + o.Consumer,
	}
	if cfg.MaxRequestBatch > 0 {
		s.batch = min(s.batch, cfg.MaxRequestBatch)
	}
	if o.MaxBytes > 0 {
		s.bytes = max(int64(o.MaxBytes), b.nc.MaxPayload()+64<<10) // a message and its headers fit
		if cfg.MaxRequestMaxBytes > 0 {
			s.bytes = min(s.bytes, int64(cfg.MaxRequestMaxBytes))
		}
	}
	if s.ackWait <= 0 {
		s.ackWait = 30 * time.Second
	}
	switch {
	case !s.pull:
		s.max = cfg.MaxAckPending // JetStream pushes that many, whatever we ask
	case o.MaxInFlight > 0:
		s.max = o.MaxInFlight
		if cfg.MaxAckPending > 0 {
			s.max = min(s.max, cfg.MaxAckPending)
		}
	case cfg.MaxAckPending > 0:
		s.max = cfg.MaxAckPending
	default:
		s.max = 1000
	}
	if s.w, err = b.watch(s.key, s); err != nil {
		return nil, err
	}
	s.inbox = b.inbox + ".s" + strconv.FormatUint(b.subIDs.Add(1), 36) // ".s…", never the ".p" of publish acks
	if s.pull {
		s.nsub, err = b.d.subscribe(b.nc, s.inbox+".*", "", s.onPull)
	} else {
		s.nsub, err = b.d.subscribe(b.nc, cfg.DeliverSubject, cfg.DeliverGroup, s.onPush)
	}
	if err == nil && !s.pull {
		// JetStream pushes once it knows of the subscriber.
		fctx, cancel := b.ctx(ctx)
		err = b.nc.FlushWithContext(fctx)
		cancel()
	}
	if err != nil {
		s.Close()
		return nil, classify(err)
	}
	s.mu.Lock()
	s.heard = time.Now()
	s.mu.Unlock()
	s.refill()
	return s, nil
}

// subscribable checks that o names a consumer o may read, and returns it.
func (b *Bridge) subscribable(ctx context.Context, o SubscribeOptions) (*jetstream.ConsumerInfo, error) {
	deadline := time.Now().Add(pushReleaseWait)
	for {
		rctx, cancel := b.ctx(ctx)
		ci, err := b.consumerInfo(rctx, o.Stream, o.Consumer)
		cancel()
		if err != nil {
			return nil, err
		}
		if err := checkFilter(o.Filter, ci); err != nil {
			return nil, err
		}
		cfg := ci.Config
		group := cfg.DeliverGroup
		if cfg.DeliverSubject == "" {
			group = cfg.Metadata[metaGroup]
		}
		switch {
		case o.Group != "" && group == "":
			return nil, fmt.Errorf("%w: consumer %s has no delivery group", ErrDeliverGroupMismatch, o.Consumer)
		case o.Group != "" && o.Group != group:
			return nil, fmt.Errorf("%w: consumer %s delivers to group %q, not %q", ErrDeliverGroupMismatch, o.Consumer, group, o.Group)
		case cfg.DeliverSubject != "" && cfg.MaxAckPending <= 0:
			return nil, fmt.Errorf("%w: push consumer %s has no max ack pending, so nothing bounds what it pushes; set one, or use a consumer made by httpmq",
				ErrUnboundedConsumer, o.Consumer)
		case cfg.DeliverSubject != "" && cfg.DeliverGroup == "" && ci.PushBound:
			// The subscriber before may be leaving: JetStream learns of
			// it within a round trip. Wait for that, briefly.
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%w: %s", ErrConsumerBusy, o.Consumer)
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %s", ErrConsumerBusy, o.Consumer)
			case <-time.After(pushReleaseWait / 20):
			}
			continue
		}
		return ci, nil
	}
}

// pushReleaseWait bounds how long a subscribe waits for a JetStream push
// consumer's previous subscriber to be gone.
const pushReleaseWait = time.Second

// checkFilter accepts a subscriber's subject when it equals or covers the
// consumer's filters (or the consumer has none).
func checkFilter(filter string, ci *jetstream.ConsumerInfo) error {
	if filter == "" {
		return nil
	}
	filters := ci.Config.FilterSubjects
	if ci.Config.FilterSubject != "" {
		filters = append(filters, ci.Config.FilterSubject)
	}
	for _, f := range filters {
		if !SubjectMatches(filter, f) {
			return fmt.Errorf("%w: consumer %s reads %s, which %q does not cover",
				ErrFilterMismatch, ci.Name, strings.Join(filters, ", "), filter)
		}
	}
	return nil
}

// MaxInFlight is this subscriber's cap on unacknowledged deliveries.
func (s *Subscription) MaxInFlight() int { return s.max }

// Pull reports whether JetStream is pulled from (every consumer httpmq
// makes) rather than pushing (consumers with a deliver subject, made
// elsewhere).
func (s *Subscription) Pull() bool { return s.pull }

// InFlight is how many deliveries await their ack.
func (s *Subscription) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// Done is closed when the subscription has ended.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription runs, then why it ended.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// SetPaused stops (true) or resumes asking JetStream for messages, for a
// subscriber that cannot take more now; requests already made may still
// bring what they asked for.
func (s *Subscription) SetPaused(paused bool) {
	s.mu.Lock()
	s.paused = paused
	s.mu.Unlock()
	if !paused {
		s.refill()
	}
}

// Close ends the subscription. Deliveries already handed over stay the
// subscriber's to answer (through any instance) until their ack wait
// ends; a message that crosses the subscriber's departure goes back to
// JetStream at once. Close is idempotent, and Receiver is not called once
// it has returned.
func (s *Subscription) Close() {
	s.finish(ErrSubscriptionClosed, false)
}

// Drain ends the subscription like Close, but first hands over whatever
// JetStream sends for the pull requests already made: it stops asking
// for more, waits (briefly) until those requests are served or nothing
// more comes, withdraws the subscriber's interest, and waits until every
// message on its way has reached the Receiver (a round trip to NATS).
// All of it is bounded by ctx. Then it closes.
func (s *Subscription) Drain(ctx context.Context) {
	s.mu.Lock()
	if s.state != active {
		s.mu.Unlock()
		s.Close()
		return
	}
	s.state = draining
	s.served = make(chan struct{})
	if s.outstanding == 0 {
		close(s.served)
	}
	served := s.served
	s.mu.Unlock()
	// Withdrawing interest while a request is open can lose a message
	// JetStream already chose for it: let open requests be served first.
	wait, cancel := context.WithTimeout(ctx, drainWait)
	select {
	case <-served:
	case <-wait.Done():
	}
	cancel()
	s.withdraw(ctx)
	s.Close()
}

// drainWait bounds how long Drain waits for open pull requests to be
// served: enough for messages being delivered, not for the request's
// expiry when there is nothing to deliver.
const drainWait = 250 * time.Millisecond

// withdraw tells NATS the subscriber is gone and waits until what
// JetStream sent before it knew has been handled (bounded by ctx).
func (s *Subscription) withdraw(ctx context.Context) {
	s.mu.Lock()
	done := s.withdrawn
	s.withdrawn = true
	s.mu.Unlock()
	if done || s.nsub == nil {
		return
	}
	if err := s.nsub.Drain(); err != nil {
		return // the connection is gone, and the interest with it
	}
	if s.b.nc.FlushWithContext(ctx) != nil {
		return
	}
	// Everything JetStream sent before it learnt of the drain is in the
	// dispatcher's queue now: wait until it has been handled.
	handled := make(chan struct{})
	if s.b.d.after(func() { close(handled) }) {
		select {
		case <-handled:
		case <-ctx.Done():
		}
	}
}

// end ends the subscription because of err, telling the Receiver.
func (s *Subscription) end(err error) { s.finish(err, true) }

func (s *Subscription) finish(err error, tell bool) {
	s.mu.Lock()
	if s.state == ended {
		s.mu.Unlock()
		return
	}
	s.state = ended
	s.err = err
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	if s.w != nil {
		s.w.leave(s)
	}
	close(s.done)
	if tell {
		s.recv.Ended(err)
	}
	if s.nsub == nil {
		return
	}
	// Messages on their way arrive after this and go back to JetStream;
	// then the dispatcher forgets the subscription.
	s.b.wg.Add(1)
	go func() {
		defer s.b.wg.Done()
		ctx, cancel := s.b.ctx(context.Background())
		s.withdraw(ctx)
		cancel()
		if !s.b.d.after(func() { s.b.d.forget(s.nsub) }) {
			s.b.d.forget(s.nsub)
		}
	}()
}

// released returns n credits (acks, expired ack waits).
func (s *Subscription) released(n int) {
	s.mu.Lock()
	s.inflight = max(0, s.inflight-n)
	s.mu.Unlock()
	s.refill()
}

// refill asks JetStream for as many messages as the subscriber has room
// for, when that is worth a request: when nothing is asked for yet, or
// when half the credit is free (a request per ack would double the
// messages each ack costs).
func (s *Subscription) refill() {
	s.mu.Lock()
	if !s.pull || s.state != active || s.paused || time.Now().Before(s.retryAt) {
		s.mu.Unlock()
		return
	}
	free := s.max - s.inflight - s.outstanding - s.arriving
	if free <= 0 || (s.outstanding > 0 && free < max(1, s.max/2)) {
		s.mu.Unlock()
		return
	}
	n := min(free, s.batch)
	s.nreq++
	reply := s.inbox + "." + strconv.FormatUint(s.nreq, 10)
	if s.outstanding == 0 {
		s.heard = time.Now() // silence is counted from the first request
	}
	s.reqs = append(s.reqs, pullRequest{id: s.nreq, n: n})
	s.outstanding += n
	s.armLocked()
	s.mu.Unlock()
	body := fmt.Appendf(nil, `{"batch":%d,"expires":%d,"idle_heartbeat":%d`, n, pullExpiry, pullHeartbeat)
	if s.bytes > 0 {
		body = fmt.Appendf(body, `,"max_bytes":%d`, s.bytes)
	}
	body = append(body, '}')
	if err := s.b.nc.PublishRequest(s.next, reply, body); err != nil {
		s.requestDone(reply, -1)
		s.backOff()
	}
}

// requestDone forgets a pull request that brought nothing, or, with
// left ≥ 0, that will bring no more than it did: left is how many of its
// messages it did not bring.
func (s *Subscription) requestDone(reply string, left int) {
	id, err := strconv.ParseUint(reply[strings.LastIndexByte(reply, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	if i := slices.IndexFunc(s.reqs, func(r pullRequest) bool { return r.id == id }); i >= 0 {
		if left < 0 {
			left = s.reqs[i].n
		}
		s.outstanding = max(0, s.outstanding-left)
		s.reqs = slices.Delete(s.reqs, i, i+1)
		if s.outstanding == 0 {
			s.settledLocked()
		}
	}
	s.mu.Unlock()
}

// pullRequest is a live pull request: its number (the last token of its
// reply subject) and how many messages it asked for.
type pullRequest struct {
	id uint64
	n  int
}

// settledLocked tells a Drain waiting for open requests that none is
// left. s.mu must be held.
func (s *Subscription) settledLocked() {
	if s.served != nil {
		select {
		case <-s.served:
		default:
			close(s.served)
		}
	}
}

// backOff delays the next pull request after a refusal.
func (s *Subscription) backOff() {
	s.mu.Lock()
	s.retryAt = time.Now().Add(time.Second)
	s.armLocked()
	s.mu.Unlock()
}

// lost forgets every pull request (the connection was re-established, or
// JetStream went silent) and asks again.
func (s *Subscription) lost() {
	s.mu.Lock()
	s.reqs = nil
	s.outstanding = 0
	s.settledLocked()
	s.mu.Unlock()
	s.refill()
}

// armLocked sets the timer for the next check: the silence of pending
// pull requests, or the end of a back-off. s.mu must be held.
func (s *Subscription) armLocked() {
	if s.state == ended {
		return
	}
	var at time.Time
	if s.outstanding > 0 {
		at = s.heard.Add(lostAfter)
	}
	if s.retryAt.After(time.Now()) && (at.IsZero() || s.retryAt.Before(at)) {
		at = s.retryAt
	}
	if at.IsZero() {
		return
	}
	d := max(time.Until(at), time.Millisecond)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.check)
	} else {
		s.timer.Reset(d)
	}
}

func (s *Subscription) check() {
	s.mu.Lock()
	silent := s.outstanding > 0 && time.Since(s.heard) >= lostAfter
	s.armLocked()
	s.mu.Unlock()
	if silent {
		s.b.log.Debug("pull requests silent; asking again", "stream", s.key.stream, "consumer", s.key.consumer)
		s.w.confirm(0) // the consumer may be gone, its deletion unheard
		s.lost()
		return
	}
	s.refill()
}

// onPull handles what JetStream sends to the subscriber's pull requests.
func (s *Subscription) onPull(m *nats.Msg) {
	if m.Reply == "" && len(m.Data) == 0 && m.Header.Get("Status") != "" {
		s.onStatus(m)
		return
	}
	// JetStream serves a subscriber's requests round robin and a message
	// does not say which one it answers: count the total.
	s.mu.Lock()
	s.heard = time.Now()
	s.outstanding = max(0, s.outstanding-1)
	s.arriving++ // still credit taken, until receive counts it in flight (or not)
	if s.outstanding == 0 {
		s.reqs = nil // all served
		s.settledLocked()
	}
	s.mu.Unlock()
	s.receive(m, true)
}

// onStatus handles a pull request's status message.
func (s *Subscription) onStatus(m *nats.Msg) {
	code, desc := m.Header.Get("Status"), strings.ToLower(m.Header.Get("Description"))
	s.mu.Lock()
	s.heard = time.Now()
	s.mu.Unlock()
	switch {
	case code == "100": // idle heartbeat: the request still waits
		return
	case (code == "408" || code == "409") && m.Header.Get("Nats-Pending-Messages") != "":
		// Expired, or its max bytes reached: it says how many it did not bring.
		left, err := strconv.Atoi(m.Header.Get("Nats-Pending-Messages"))
		if err != nil {
			s.lost()
			return
		}
		s.requestDone(m.Subject, left)
	case code == "409" && strings.Contains(desc, "consumer deleted"):
		s.end(fmt.Errorf("%w: %s on stream %s", ErrConsumerNotFound, s.key.consumer, s.key.stream))
		return
	case code == "409" && strings.Contains(desc, "leadership change"):
		s.lost() // how much each request brought is unknown: ask afresh
		return
	case code == "409" && strings.Contains(desc, "push based"):
		s.end(fmt.Errorf("%w: %s became a push consumer", ErrInvalidConfig, s.key.consumer))
		return
	case code == "503" || code == "404": // no one answers for the consumer: is it gone?
		s.requestDone(m.Subject, -1)
		s.backOff()
		s.w.confirm(0)
	default: // exceeded max waiting, a refusal we did not expect: wait a little
		s.b.log.Debug("pull request refused", "stream", s.key.stream, "consumer", s.key.consumer,
			"status", code, "description", desc)
		s.requestDone(m.Subject, -1)
		s.backOff()
	}
	s.refill()
}

// onPush handles what a JetStream push consumer sends.
func (s *Subscription) onPush(m *nats.Msg) {
	if len(m.Data) == 0 && m.Header.Get("Status") == "100" {
		if m.Reply != "" { // flow control: JetStream waits for this answer
			_ = m.Respond(nil)
		}
		return
	}
	s.receive(m, false)
}

// receive hands a delivery to the subscriber, or, once it left, back to
// JetStream. pulled says it came on a pull request, counted in arriving.
func (s *Subscription) receive(m *nats.Msg, pulled bool) {
	arrived := func() {
		if pulled {
			s.arriving--
		}
	}
	md, err := m.Metadata()
	if err != nil {
		s.mu.Lock()
		arrived()
		s.mu.Unlock()
		return // not a JetStream delivery
	}
	d := &Delivery{
		Stream: s.key.stream, Consumer: s.key.consumer, Subject: m.Subject,
		StreamSeq: md.Sequence.Stream, ConsumerSeq: md.Sequence.Consumer,
		Deliveries: md.NumDelivered, Pending: md.NumPending, Time: md.Timestamp,
		Header: m.Header, Data: m.Data,
	}
	s.mu.Lock()
	if s.state == ended {
		arrived()
		s.crossed++
		s.mu.Unlock()
		_ = s.b.nc.Publish(m.Reply, []byte("-NAK")) // again, at once, to someone else
		return
	}
	s.mu.Unlock()
	prev := s.w.hold(s, d, m.Reply, s.ackWaitFor(d.Deliveries))
	s.mu.Lock()
	arrived()
	if prev != s { // a redelivery of a message this subscriber held is not more credit
		s.inflight++
	}
	s.mu.Unlock()
	if pulled && prev == s {
		s.refill() // its request slot was not more credit either
	}
	if prev != nil && prev != s {
		prev.released(1)
	}
	s.recv.Deliver(d)
}

// ackWaitFor is the ack wait of a message's dc-th delivery.
func (s *Subscription) ackWaitFor(dc uint64) time.Duration {
	if len(s.backoff) == 0 {
		return s.ackWait
	}
	i := min(int(max(dc, 1))-1, len(s.backoff)-1)
	return s.backoff[i]
}

// Crossed counts deliveries that arrived after the subscriber left and
// went back to JetStream.
func (s *Subscription) Crossed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crossed
}
