package protocol

import "time"

// FrameType is the value of a frame's "type" field, its discriminator.
type FrameType string

// Frame types sent by clients. Each carries an "id" and is answered by
// exactly one [TypeOK] or [TypeError] frame with the same id (ping is
// answered by [TypePong]); the acknowledgement frames may leave "id" empty
// to ask for no reply.
const (
	TypeSubscribe   FrameType = "subscribe"   // start delivering a consumer's messages, or a subject's (live)
	TypeUnsubscribe FrameType = "unsubscribe" // stop a subscription
	TypePublish     FrameType = "publish"     // publish one message to JetStream
	TypeAck         FrameType = "ack"         // acknowledge a delivery
	TypeNak         FrameType = "nak"         // ask for redelivery, optionally after "delay"
	TypeTerm        FrameType = "term"        // stop redelivering a message
	TypeProgress    FrameType = "progress"    // still working: reset the ack wait
	TypePing        FrameType = "ping"        // application-level ping, answered by pong
	TypeAuth        FrameType = "auth"        // replace the session's credentials before they expire
)

// Frame types sent by the server.
const (
	TypeHello  FrameType = "hello"  // first frame of every session
	TypeOK     FrameType = "ok"     // success reply to a command
	TypeError  FrameType = "error"  // failure reply, or an error not tied to a command
	TypeMsg    FrameType = "msg"    // a delivery on a subscription
	TypePong   FrameType = "pong"   // reply to ping
	TypeClosed FrameType = "closed" // the server ended one subscription
)

// FromClient reports whether clients may send frames of type t.
func (t FrameType) FromClient() bool {
	switch t {
	case TypeSubscribe, TypeUnsubscribe, TypePublish, TypeAck, TypeNak, TypeTerm, TypeProgress, TypePing, TypeAuth:
		return true
	}
	return false
}

// FromServer reports whether the server sends frames of type t.
func (t FrameType) FromServer() bool {
	switch t {
	case TypeHello, TypeOK, TypeError, TypeMsg, TypePong, TypeClosed:
		return true
	}
	return false
}

// Known reports whether t is a frame type of this protocol version.
func (t FrameType) Known() bool { return t.FromClient() || t.FromServer() }

// IsAck reports whether t is one of the four acknowledgement frames
// (ack, nak, term, progress), which share their fields.
func (t FrameType) IsAck() bool {
	return t == TypeAck || t == TypeNak || t == TypeTerm || t == TypeProgress
}

// Header holds message headers as NATS does: a key maps to one or more
// values, and keys keep their case. It converts to and from nats.Header
// and http.Header without copying.
type Header map[string][]string

// Get returns the first value of name (as given: no case folding), or "".
func (h Header) Get(name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Version is the protocol version this package speaks, sent in hello.
const Version = 1

// Frame is every frame of the protocol: one flat struct whose Type says
// which of the other fields are meaningful (see docs/protocol.md for the
// table per type). Both codecs use the same field names.
//
// Zero means absent: every field except Type is omitted from the encoding
// when it holds its zero value, and an absent field decodes to zero. So
// "duplicate": false, "retryable": false, "pending": 0 and "seq": 0 are
// never written, and a receiver must read absence as that zero value.
// Field order here is the order on the wire.
type Frame struct {
	Type FrameType `json:"type" msgpack:"type"`
	// ID is the client-chosen command id (at most [MaxIDLen] bytes),
	// echoed in the reply.
	ID string `json:"id,omitempty" msgpack:"id,omitempty"`
	// Sub is the client-chosen subscription id (at most [MaxIDLen] bytes).
	Sub string `json:"sub,omitempty" msgpack:"sub,omitempty"`

	// hello
	Version   int           `json:"version,omitempty" msgpack:"version,omitempty"`
	Session   string        `json:"session,omitempty" msgpack:"session,omitempty"`
	MaxFrame  int           `json:"max_frame,omitempty" msgpack:"max_frame,omitempty"` // bytes
	MaxSubs   int           `json:"max_subs,omitempty" msgpack:"max_subs,omitempty"`   // subscriptions per session
	Heartbeat time.Duration `json:"heartbeat,omitempty" msgpack:"heartbeat,omitempty"` // nanoseconds

	// auth: the new bearer token (never logged)
	Token string `json:"token,omitempty" msgpack:"token,omitempty"`

	// addressing: publish, subscribe, acks, msg, ok
	Subject     string `json:"subject,omitempty" msgpack:"subject,omitempty"`
	Stream      string `json:"stream,omitempty" msgpack:"stream,omitempty"`
	Consumer    string `json:"consumer,omitempty" msgpack:"consumer,omitempty"`
	Filter      string `json:"filter,omitempty" msgpack:"filter,omitempty"`
	Group       string `json:"group,omitempty" msgpack:"group,omitempty"`
	MaxInflight int    `json:"max_inflight,omitempty" msgpack:"max_inflight,omitempty"`

	// live subscriptions (subscribe with "subject"): where to recover
	// from, at most one of them, and whether all of it was still stored
	// (the ok reply)
	FromSeq   uint64 `json:"from_seq,omitempty" msgpack:"from_seq,omitempty"`
	Since     int64  `json:"since,omitempty" msgpack:"since,omitempty"` // Unix nanoseconds
	Last      int    `json:"last,omitempty" msgpack:"last,omitempty"`
	Recovered bool   `json:"recovered,omitempty" msgpack:"recovered,omitempty"`

	// delivery metadata: msg and acks
	StreamSeq   uint64 `json:"stream_seq,omitempty" msgpack:"stream_seq,omitempty"`
	ConsumerSeq uint64 `json:"consumer_seq,omitempty" msgpack:"consumer_seq,omitempty"`
	Deliveries  uint64 `json:"deliveries,omitempty" msgpack:"deliveries,omitempty"`
	Pending     uint64 `json:"pending,omitempty" msgpack:"pending,omitempty"`
	// Time is when the message was stored, in Unix nanoseconds.
	Time  int64         `json:"time,omitempty" msgpack:"time,omitempty"`
	Delay time.Duration `json:"delay,omitempty" msgpack:"delay,omitempty"` // nak: redeliver after, nanoseconds

	// publish and its ok reply
	MsgID     string `json:"msg_id,omitempty" msgpack:"msg_id,omitempty"`
	Seq       uint64 `json:"seq,omitempty" msgpack:"seq,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty" msgpack:"duplicate,omitempty"`

	// error and closed: Status is the HTTP status the error maps to, an
	// integer under the key "code" (as in REST error bodies), and Reason
	// the stable reason code ([Code]); see [Frame.Err].
	Status int `json:"code,omitempty" msgpack:"code,omitempty"`
	// Reason is, on error and closed, the stable reason code; on term,
	// free text saying why (for logs and advisories).
	Reason    string `json:"reason,omitempty" msgpack:"reason,omitempty"`
	Message   string `json:"message,omitempty" msgpack:"message,omitempty"`
	Detail    string `json:"detail,omitempty" msgpack:"detail,omitempty"`
	Retryable bool   `json:"retryable,omitempty" msgpack:"retryable,omitempty"`
	// RetryAfter is how long to wait before retrying (rate_limited).
	RetryAfter time.Duration `json:"retry_after,omitempty" msgpack:"retry_after,omitempty"`

	// payload: publish and msg
	Headers Header `json:"headers,omitempty" msgpack:"headers,omitempty"`
	Data    []byte `json:"data,omitempty" msgpack:"data,omitempty"`
}

// Timestamp returns Time as a time.Time, or the zero time when absent.
func (f *Frame) Timestamp() time.Time {
	if f.Time == 0 {
		return time.Time{}
	}
	return time.Unix(0, f.Time)
}
