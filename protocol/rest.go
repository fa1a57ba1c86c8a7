package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The JSON of httpmq's REST APIs (management /v1/admin/… and dataplane
// /v1/data/…), defined once for the server and the Go SDK. Field names
// and shapes are the original httpmq's (its apis/management.go and
// dataplane), which its clients depend on; fields it did not have are
// marked "extension". Durations are integer nanoseconds, times RFC 3339.
//
// In requests, fields that are pointers (or have omitempty) are
// optional: absent leaves the server's default or the current value. The
// server reads requests strictly (unknown fields are refused), so what a
// client sends is what these types marshal to.

// Envelope is the part of every REST answer common to all routes. The
// payload of a successful answer sits beside success and request_id at
// the top level ({"success":true,"request_id":"…","stream":{…}}); a
// failure carries Error instead.
type Envelope struct {
	Success   bool   `json:"success"`
	RequestID string `json:"request_id"`
	Error     *Error `json:"error,omitempty"`
}

// Consumer modes ([NewConsumer.Mode], [ConsumerConfig.Mode]).
const (
	ModePush = "push" // the server pushes messages to subscribers
	ModePull = "pull" // subscribers pull; any number may share it
)

// StreamLimits are a stream's limits (the original's JSStreamLimits);
// 0 and -1 mean unlimited. In an update only the limits given change.
type StreamLimits struct {
	MaxConsumers      *int           `json:"max_consumers,omitempty"`
	MaxMsgs           *int64         `json:"max_msgs,omitempty"`
	MaxBytes          *int64         `json:"max_bytes,omitempty"`
	MaxAge            *time.Duration `json:"max_age,omitempty"`
	MaxMsgsPerSubject *int64         `json:"max_msgs_per_subject,omitempty"`
	MaxMsgSize        *int32         `json:"max_msg_size,omitempty"`
}

// StreamSettings are a stream's settings besides name, subjects and
// limits (all extensions).
type StreamSettings struct {
	Description *string `json:"description,omitempty"`
	// Retention is "limits" (default), "interest" or "workqueue".
	Retention string `json:"retention,omitempty"`
	// Discard is "old" (default) or "new".
	Discard  string `json:"discard,omitempty"`
	Replicas *int   `json:"replicas,omitempty"`
	// DuplicateWindow is how long message ids are remembered for
	// de-duplication (default 2 minutes).
	DuplicateWindow *time.Duration `json:"duplicate_window,omitempty"`
}

// NewStream is the body of POST /v1/admin/stream: the original's
// JSStreamParam (name, subjects, limits at the top level) plus
// extensions.
type NewStream struct {
	Name string `json:"name"`
	// Subjects the stream captures; default: its own name.
	Subjects []string `json:"subjects,omitempty"`
	// Storage is "file" (default) or "memory" (extension).
	Storage string `json:"storage,omitempty"`
	StreamLimits
	StreamSettings
}

// StreamUpdate is the body of PUT /v1/admin/stream/:stream (extension):
// any of subjects, limits and settings; what is absent stays.
type StreamUpdate struct {
	Subjects []string `json:"subjects,omitempty"`
	StreamLimits
	StreamSettings
}

// StreamSubjects is the body of PUT /v1/admin/stream/:stream/subject
// (the original's APIRestReqStreamSubjects).
type StreamSubjects struct {
	Subjects []string `json:"subjects"`
}

// StreamInfo is a stream as GET /v1/admin/stream/:stream shows it.
type StreamInfo struct {
	Config  StreamConfig `json:"config"`
	Created time.Time    `json:"created"`
	State   StreamState  `json:"state"`
}

// StreamConfig is a stream's configuration; unlimited limits are -1
// (MaxAge 0).
type StreamConfig struct {
	Name              string        `json:"name"`
	Description       string        `json:"description,omitempty"`
	Subjects          []string      `json:"subjects,omitempty"`
	MaxConsumers      int           `json:"max_consumers"`
	MaxMsgs           int64         `json:"max_msgs"`
	MaxBytes          int64         `json:"max_bytes"`
	MaxAge            time.Duration `json:"max_age"`
	MaxMsgsPerSubject int64         `json:"max_msgs_per_subject"`
	MaxMsgSize        int32         `json:"max_msg_size"`
	Storage           string        `json:"storage"`          // extension
	Retention         string        `json:"retention"`        // extension
	Discard           string        `json:"discard"`          // extension
	Replicas          int           `json:"replicas"`         // extension
	DuplicateWindow   time.Duration `json:"duplicate_window"` // extension
}

// StreamState is what a stream holds.
type StreamState struct {
	Messages      uint64    `json:"messages"`
	Bytes         uint64    `json:"bytes"`
	FirstSeq      uint64    `json:"first_seq"`
	FirstTS       time.Time `json:"first_ts"`
	LastSeq       uint64    `json:"last_seq"`
	LastTS        time.Time `json:"last_ts"`
	ConsumerCount int       `json:"consumer_count"`
	NumSubjects   uint64    `json:"num_subjects"` // extension
}

// Purge is the optional body of POST /v1/admin/stream/:stream/purge
// (extension); the zero value (or no body) removes every message.
type Purge struct {
	// Subject purges only messages on this subject (wildcards allowed).
	Subject string `json:"subject,omitempty"`
	// Sequence purges messages below this sequence.
	Sequence uint64 `json:"sequence,omitempty"`
	// Keep keeps this many of the newest messages.
	Keep uint64 `json:"keep,omitempty"`
}

// StoredMessage is a message read by sequence from
// GET /v1/admin/stream/:stream/message/:seq (extension).
type StoredMessage struct {
	Stream   string    `json:"stream"`
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"sequence"`
	Time     time.Time `json:"time"`
	Header   Header    `json:"headers,omitempty"`
	// Data is the payload: b64_msg on the wire, standard base64 with
	// padding, which encoding/json reads into and writes from a []byte.
	Data []byte `json:"b64_msg"`
}

// NewConsumer is the body of POST /v1/admin/stream/:stream/consumer: the
// original's JetStreamConsumerParam plus extensions. Name and Mode are
// required.
type NewConsumer struct {
	Name string `json:"name"`
	// Mode is [ModePush] or [ModePull] (extension).
	Mode  string `json:"mode"`
	Notes string `json:"notes,omitempty"`
	// FilterSubject (or FilterSubjects) narrows the stream's subjects.
	FilterSubject  string   `json:"filter_subject,omitempty"`
	FilterSubjects []string `json:"filter_subjects,omitempty"` // extension
	// DeliveryGroup lets several subscribers share a push consumer.
	DeliveryGroup string `json:"delivery_group,omitempty"`
	// MaxInflight is JetStream's max ack pending (default 1000).
	MaxInflight *int `json:"max_inflight,omitempty"`
	// MaxRetry is JetStream's max deliver (-1 unlimited).
	MaxRetry *int `json:"max_retry,omitempty"`
	// AckWait before an unacknowledged message is redelivered (30s).
	AckWait *time.Duration `json:"ack_wait,omitempty"`
	// DeliverPolicy (extension): "all" (default), "last", "new",
	// "by_start_sequence" (with OptStartSeq), "by_start_time" (with
	// OptStartTime), "last_per_subject".
	DeliverPolicy     string          `json:"deliver_policy,omitempty"`
	OptStartSeq       uint64          `json:"opt_start_seq,omitempty"`      // extension
	OptStartTime      *time.Time      `json:"opt_start_time,omitempty"`     // extension
	Backoff           []time.Duration `json:"backoff,omitempty"`            // extension
	MaxWaiting        *int            `json:"max_waiting,omitempty"`        // extension
	InactiveThreshold *time.Duration  `json:"inactive_threshold,omitempty"` // extension
	Replicas          *int            `json:"replicas,omitempty"`           // extension
	MemoryStorage     bool            `json:"memory_storage,omitempty"`     // extension
	HeadersOnly       bool            `json:"headers_only,omitempty"`       // extension
}

// ConsumerInfo is a consumer as GET …/consumer/:consumer shows it.
type ConsumerInfo struct {
	StreamName     string         `json:"stream_name"`
	Name           string         `json:"name"`
	Created        time.Time      `json:"created"`
	Config         ConsumerConfig `json:"config"`
	Delivered      SequenceInfo   `json:"delivered"`
	AckFloor       SequenceInfo   `json:"ack_floor"`
	NumAckPending  int            `json:"num_ack_pending"`
	NumRedelivered int            `json:"num_redelivered"`
	NumWaiting     int            `json:"num_waiting"`
	NumPending     uint64         `json:"num_pending"`
	PushBound      bool           `json:"push_bound,omitempty"` // extension
}

// ConsumerConfig is a consumer's configuration.
type ConsumerConfig struct {
	Notes             string          `json:"notes,omitempty"`
	DeliverSubject    string          `json:"deliver_subject,omitempty"`
	DeliverGroup      string          `json:"deliver_group,omitempty"`
	MaxDeliver        int             `json:"max_deliver,omitempty"`
	AckWait           time.Duration   `json:"ack_wait"`
	FilterSubject     string          `json:"filter_subject,omitempty"`
	MaxWaiting        int             `json:"max_waiting,omitempty"`
	MaxAckPending     int             `json:"max_ack_pending,omitempty"`
	Mode              string          `json:"mode"`                         // extension: push or pull
	FilterSubjects    []string        `json:"filter_subjects,omitempty"`    // extension
	DeliverPolicy     string          `json:"deliver_policy"`               // extension
	OptStartSeq       uint64          `json:"opt_start_seq,omitempty"`      // extension
	OptStartTime      *time.Time      `json:"opt_start_time,omitempty"`     // extension
	Backoff           []time.Duration `json:"backoff,omitempty"`            // extension
	InactiveThreshold time.Duration   `json:"inactive_threshold,omitempty"` // extension
	Replicas          int             `json:"replicas"`                     // extension
	MemoryStorage     bool            `json:"memory_storage,omitempty"`     // extension
	HeadersOnly       bool            `json:"headers_only,omitempty"`       // extension
}

// SequenceInfo is a consumer position.
type SequenceInfo struct {
	ConsumerSeq uint64     `json:"consumer_seq"`
	StreamSeq   uint64     `json:"stream_seq"`
	LastActive  *time.Time `json:"last_active,omitempty"`
}

// PublishResult is the payload of a successful REST publish answer,
// beside success and request_id.
type PublishResult struct {
	Stream    string `json:"stream"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
}

// AckResult is the payload of a REST ack answer: duplicate is true (and
// present) only when the delivery had already been acknowledged, which is
// a success too.
type AckResult struct {
	Duplicate bool `json:"duplicate,omitempty"`
}

// BatchMessage is one message of a batch publish (POST /v1/data/publish).
type BatchMessage struct {
	Subject string `json:"subject"`
	// Data is the payload, base64 (standard or URL-safe, padding
	// optional), as a single publish's body.
	Data string `json:"data,omitempty"`
	// Headers become NATS message headers, under the rules of a single
	// publish's Httpmq-Header-* (docs/security.md).
	Headers map[string][]string `json:"headers,omitempty"`
	// MsgID de-duplicates within the stream's duplicate window.
	MsgID string `json:"msg_id,omitempty"`
}

// BatchResult is the outcome of one message of a batch publish: stored
// by JetStream (Success, with Stream, Sequence and Duplicate as a single
// publish answers), or the error a single publish of it would have
// answered.
type BatchResult struct {
	Success   bool
	Stream    string
	Sequence  uint64
	Duplicate bool
	Error     *Error
}

// MarshalJSON writes {"success":true,"stream":…,"sequence":…,"duplicate":…}
// or {"success":false,"error":{…}}.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	return r.appendJSON(make([]byte, 0, 64+len(r.Stream)))
}

func (r BatchResult) appendJSON(b []byte) ([]byte, error) {
	if !r.Success {
		e, err := json.Marshal(r.Error)
		if err != nil {
			return nil, err
		}
		return append(append(append(b, `{"success":false,"error":`...), e...), '}'), nil
	}
	b = append(b, `{"success":true,"stream":`...)
	b = strconv.AppendQuote(b, r.Stream) // stream names are printable ASCII: valid JSON
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, r.Sequence, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, r.Duplicate)
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *BatchResult) UnmarshalJSON(b []byte) error {
	var w struct {
		Success   bool   `json:"success"`
		Stream    string `json:"stream"`
		Sequence  uint64 `json:"sequence"`
		Duplicate bool   `json:"duplicate"`
		Error     *Error `json:"error"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = BatchResult{Success: w.Success, Stream: w.Stream, Sequence: w.Sequence, Duplicate: w.Duplicate, Error: w.Error}
	return nil
}

// BatchPublishResult is the payload of a batch publish's answer, beside
// success and request_id: one result per message, in request order.
type BatchPublishResult struct {
	Results []BatchResult `json:"results"`
	// Published counts the messages JetStream stored (duplicates
	// included), Failed the others.
	Published int `json:"published"`
	Failed    int `json:"failed"`
}

// AppendJSON appends r as an object, as json.Marshal would write it but
// for HTML characters in stream names, which it leaves unescaped: the
// server writes one for every batch, without reflection.
func (r BatchPublishResult) AppendJSON(b []byte) ([]byte, error) {
	b = slices.Grow(b, 64+80*len(r.Results)) // a success is 60-80 bytes
	b = append(b, `{"results":`...)
	if r.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, res := range r.Results {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = res.appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(append(b, `,"published":`...), int64(r.Published), 10)
	b = strconv.AppendInt(append(b, `,"failed":`...), int64(r.Failed), 10)
	return append(b, '}'), nil
}

// Delivery is one message on a REST subscription stream: one NDJSON
// line, or the data of one SSE "msg" event. The fields of the original
// httpmq come first; Subject is the subject the message was published
// to. The stream's final line, when the server ends it, is an [Envelope]
// with success false and the error.
type Delivery struct {
	Success   bool   `json:"success"`
	RequestID string `json:"request_id"`
	Stream    string `json:"stream"`
	Subject   string `json:"subject"`
	Consumer  string `json:"consumer"`
	// Sequence is what an ack sends back.
	Sequence Sequence `json:"sequence"`
	// Deliveries counts deliveries of this message, this one included.
	Deliveries uint64 `json:"deliveries"`
	// Pending is how many messages the consumer held after this one.
	Pending uint64 `json:"pending"`
	// Timestamp is when the stream stored the message.
	Timestamp time.Time `json:"timestamp"`
	// Headers are the message's NATS headers.
	Headers Header `json:"headers,omitempty"`
	// B64Msg is the payload, standard base64 with padding. encoding/json
	// decodes it into a []byte.
	B64Msg []byte `json:"b64_msg"`
}

// Sequence locates a delivered message in its stream and on its consumer.
type Sequence struct {
	Stream   uint64 `json:"stream"`
	Consumer uint64 `json:"consumer"`
}

// AckRequest is the body of the REST ack routes
// (POST /v1/data/stream/:stream/consumer/:consumer/ack, /nak, /term,
// /progress). Consumer and Stream are the sequence numbers the message
// arrived with ({"consumer":N,"stream":M}, as in the original httpmq); the
// other fields are optional.
type AckRequest struct {
	Consumer uint64 `json:"consumer"`
	Stream   uint64 `json:"stream"`
	// Type is "ack" (default), "nak", "term" or "progress". On the nak,
	// term and progress routes it may be omitted, or must match.
	Type string `json:"type,omitempty"`
	// Delay before redelivery, for nak: nanoseconds, or a Go duration
	// string such as "5s".
	Delay Duration `json:"delay,omitempty"`
	// Deliveries is the delivery count the message arrived with; on a nak
	// it lets JetStream choose the right back-off step.
	Deliveries uint64 `json:"deliveries,omitempty"`
	// Reason is recorded with a term.
	Reason string `json:"reason,omitempty"`
}

// Duration is a time.Duration in JSON as integer nanoseconds (as
// JetStream writes durations) or as a Go duration string ("1.5s").
type Duration time.Duration

// MarshalJSON writes nanoseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(d), 10), nil
}

// UnmarshalJSON reads nanoseconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("delay: %w", err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("delay: expected integer nanoseconds or a duration string such as \"5s\"")
	}
	*d = Duration(n)
	return nil
}
