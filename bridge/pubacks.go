package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxAsyncPublishes bounds PublishAsync calls awaiting their ack, over
// the whole bridge; beyond it PublishAsync fails at once.
const maxAsyncPublishes = 16_384

// errTooManyPublishes: maxAsyncPublishes await their ack already.
var errTooManyPublishes = fmt.Errorf("%w: %d publishes await their ack", ErrUnavailable, maxAsyncPublishes)

// pubAcks awaits JetStream's answers to [Bridge.PublishAsync]: each
// publish carries a reply subject of its own under one prefix, which a
// single subscription receives. It does what nats.go's async publish
// does for us, without its per-publish timer, future and reflection-based
// decoding of every ack (10% of a session publish's CPU here): deadlines
// are swept in publish order, and an ack is parsed by hand, falling back
// to encoding/json for anything but the common shape.
type pubAcks struct {
	nc      *nats.Conn
	prefix  string // reply subjects are prefix + decimal id
	timeout time.Duration
	failed  func(subject string, err error, done func(PubAck, error)) // completes a failed publish
	sub     *nats.Subscription

	mu      sync.Mutex
	next    uint64 // the next id
	oldest  uint64 // no pending id is lower
	pending map[uint64]pendingPub
	closed  bool

	stop chan struct{}
	done chan struct{}
}

type pendingPub struct {
	subject  string
	deadline time.Time
	done     func(PubAck, error)
}

func newPubAcks(nc *nats.Conn, prefix string, timeout time.Duration, failed func(string, error, func(PubAck, error))) (*pubAcks, error) {
	p := &pubAcks{nc: nc, prefix: prefix, timeout: timeout, failed: failed, next: 1, oldest: 1,
		pending: map[uint64]pendingPub{}, stop: make(chan struct{}), done: make(chan struct{})}
	sub, err := nc.Subscribe(prefix+"*", p.answer)
	if err != nil {
		return nil, err
	}
	// Bounded by maxAsyncPublishes; an ack dropped here would turn a
	// stored message into a time-out.
	_ = sub.SetPendingLimits(-1, -1)
	p.sub = sub
	go p.sweep()
	return p, nil
}

// publish sends msg with a reply subject of its own; done hears the
// outcome exactly once, unless publish fails at once.
func (p *pubAcks) publish(msg *nats.Msg, done func(PubAck, error)) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("%w: the bridge closed", ErrClosed)
	}
	if len(p.pending) >= maxAsyncPublishes {
		p.mu.Unlock()
		return errTooManyPublishes
	}
	id := p.next
	p.next++
	p.pending[id] = pendingPub{subject: msg.Subject, deadline: time.Now().Add(p.timeout), done: done}
	p.mu.Unlock()
	msg.Reply = p.prefix + strconv.FormatUint(id, 10)
	if err := p.nc.PublishMsg(msg); err != nil {
		if _, ok := p.take(id); ok {
			return classify(err)
		}
		return nil // the sweeper or Close answered it already
	}
	return nil
}

// take removes the publish id, reporting whether it was pending.
func (p *pubAcks) take(id uint64) (pendingPub, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.pending[id]
	if ok {
		delete(p.pending, id)
	}
	return e, ok
}

// answer completes the publish an ack (or a no-responders status) is for.
func (p *pubAcks) answer(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(p.prefix):], 10, 64)
	if err != nil {
		return
	}
	e, ok := p.take(id)
	if !ok {
		return // answered late: it timed out already
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		p.failed(e.subject, jetstream.ErrNoStreamResponse, e.done)
		return
	}
	ack, err := parsePubAck(m.Data)
	if err != nil {
		p.failed(e.subject, err, e.done)
		return
	}
	e.done(ack, nil)
}

// sweep fails the publishes whose ack is overdue. Deadlines grow with
// ids, so it walks from the oldest pending id and stops at the first
// that is not due.
func (p *pubAcks) sweep() {
	defer close(p.done)
	every := min(max(p.timeout/8, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			for _, e := range p.overdue(now) {
				p.failed(e.subject, fmt.Errorf("%w: no publish ack within %s", ErrUnavailable, p.timeout), e.done)
			}
		}
	}
}

func (p *pubAcks) overdue(now time.Time) []pendingPub {
	p.mu.Lock()
	defer p.mu.Unlock()
	var due []pendingPub
	for ; p.oldest < p.next; p.oldest++ {
		e, ok := p.pending[p.oldest]
		if !ok {
			continue
		}
		if e.deadline.After(now) {
			break
		}
		delete(p.pending, p.oldest)
		due = append(due, e)
	}
	return due
}

// failAll fails every pending publish with err: after the connection to
// NATS was lost their acks may never come (the messages may or may not
// be stored; the client learns "unavailable" and may publish again with
// its message ID).
func (p *pubAcks) failAll(err error) {
	p.mu.Lock()
	all := make([]pendingPub, 0, len(p.pending))
	for id, e := range p.pending {
		all = append(all, e)
		delete(p.pending, id)
	}
	p.oldest = p.next
	p.mu.Unlock()
	for _, e := range all {
		p.failed(e.subject, err, e.done)
	}
}

// close fails what is pending with [ErrClosed] and stops the sweeper.
func (p *pubAcks) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	_ = p.sub.Unsubscribe()
	p.failAll(fmt.Errorf("%w: the bridge closed", ErrClosed))
}

// parsePubAck reads JetStream's answer to a publish. The usual answer,
// {"stream":"S","seq":N} with an optional "duplicate":true and "domain",
// is read by hand; anything else (an error, an escaped string, fields
// it does not know) goes through encoding/json.
func parsePubAck(b []byte) (PubAck, error) {
	if ack, ok := parsePubAckFast(b); ok {
		return ack, nil
	}
	var r struct {
		Error *jetstream.APIError `json:"error"`
		jetstream.PubAck
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return PubAck{}, fmt.Errorf("%w: %w", ErrUnavailable, jetstream.ErrInvalidJSAck)
	}
	if r.Error != nil {
		return PubAck{}, r.Error
	}
	if r.Stream == "" {
		return PubAck{}, fmt.Errorf("%w: %w", ErrUnavailable, jetstream.ErrInvalidJSAck)
	}
	return PubAck{Stream: r.Stream, Sequence: r.Sequence, Duplicate: r.Duplicate}, nil
}

// parsePubAckFast reads an object of the fields stream, seq, domain
// and duplicate with plain values, or reports false.
func parsePubAckFast(b []byte) (PubAck, bool) {
	var ack PubAck
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return ack, false
	}
	b = b[1 : len(b)-1]
	seenStream, seenSeq := false, false
	for len(b) > 0 {
		key, val, rest, ok := nextMember(b)
		if !ok {
			return ack, false
		}
		b = rest
		switch key {
		case "stream", "domain":
			s, ok := plainString(val)
			if !ok {
				return ack, false
			}
			if key == "stream" {
				ack.Stream, seenStream = s, true
			}
		case "seq":
			if len(val) > 1 && val[0] == '0' {
				return ack, false
			}
			n, err := strconv.ParseUint(string(val), 10, 64)
			if err != nil {
				return ack, false
			}
			ack.Sequence, seenSeq = n, true
		case "duplicate":
			switch string(val) {
			case "true":
				ack.Duplicate = true
			case "false":
			default:
				return ack, false
			}
		default:
			return ack, false
		}
	}
	return ack, seenStream && seenSeq && ack.Stream != ""
}

// nextMember splits `"key":value,rest` where value is a plain string
// (no escapes), a number or a literal.
func nextMember(b []byte) (key string, val, rest []byte, ok bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	k, ok := plainString(untilColon(b))
	if !ok {
		return "", nil, nil, false
	}
	b = b[bytes.IndexByte(b, ':')+1:]
	end := bytes.IndexByte(b, ',')
	if end < 0 {
		end = len(b)
		rest = nil
	} else {
		rest = b[end+1:]
		if len(bytes.TrimSpace(rest)) == 0 {
			return "", nil, nil, false // a trailing comma
		}
	}
	val = bytes.TrimSpace(b[:end])
	if len(val) == 0 {
		return "", nil, nil, false
	}
	return k, val, rest, true
}

func untilColon(b []byte) []byte {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return nil
	}
	return bytes.TrimSpace(b[:i])
}

// plainString unquotes a JSON string without escapes.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	s := b[1 : len(b)-1]
	for _, c := range s {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(s), true
}
