package httpmq

import "time"

// The management API's JSON, as typed Go values. Durations are
// nanoseconds on the wire, time.Duration here; -1 means unlimited where
// the server says so. Request fields that are pointers (or have
// omitempty) are optional: nil leaves the server's default or the
// current value. [Ptr] makes pointers to literals.

// Ptr returns a pointer to v, for the optional fields of requests:
// StreamLimits{MaxAge: httpmq.Ptr(time.Hour)}.
func Ptr[T any](v T) *T { return &v }

// Consumer modes.
const (
	ModePush = "push" // the server pushes messages to subscribers
	ModePull = "pull" // subscribers pull; any number may share it
)

// StreamLimits are a stream's limits; 0 and -1 mean unlimited. In an
// update only the limits given change.
type StreamLimits struct {
	MaxConsumers      *int           `json:"max_consumers,omitempty"`
	MaxMsgs           *int64         `json:"max_msgs,omitempty"`
	MaxBytes          *int64         `json:"max_bytes,omitempty"`
	MaxAge            *time.Duration `json:"max_age,omitempty"`
	MaxMsgsPerSubject *int64         `json:"max_msgs_per_subject,omitempty"`
	MaxMsgSize        *int32         `json:"max_msg_size,omitempty"`
}

// StreamSettings are a stream's settings besides name, subjects and
// limits.
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

// NewStream defines a stream ([AdminClient.CreateStream]).
type NewStream struct {
	Name string `json:"name"`
	// Subjects the stream captures; default: its own name.
	Subjects []string `json:"subjects,omitempty"`
	// Storage is "file" (default) or "memory".
	Storage string `json:"storage,omitempty"`
	StreamLimits
	StreamSettings
}

// StreamUpdate changes a stream ([AdminClient.UpdateStream]); what is
// absent stays.
type StreamUpdate struct {
	Subjects []string `json:"subjects,omitempty"`
	StreamLimits
	StreamSettings
}

// StreamInfo is a stream as the server shows it.
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
	Storage           string        `json:"storage"`
	Retention         string        `json:"retention"`
	Discard           string        `json:"discard"`
	Replicas          int           `json:"replicas"`
	DuplicateWindow   time.Duration `json:"duplicate_window"`
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
	NumSubjects   uint64    `json:"num_subjects"`
}

// Purge says which messages [AdminClient.PurgeStream] removes; the zero
// value removes all.
type Purge struct {
	// Subject purges only messages on this subject (wildcards allowed).
	Subject string `json:"subject,omitempty"`
	// Sequence purges messages below this sequence.
	Sequence uint64 `json:"sequence,omitempty"`
	// Keep keeps this many of the newest messages.
	Keep uint64 `json:"keep,omitempty"`
}

// StoredMessage is a message read from a stream by sequence.
type StoredMessage struct {
	Stream   string    `json:"stream"`
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"sequence"`
	Time     time.Time `json:"time"`
	Header   Header    `json:"headers,omitempty"`
	// Data is the payload (b64_msg on the wire).
	Data []byte `json:"b64_msg"`
}

// NewConsumer defines a durable consumer ([AdminClient.CreateConsumer]).
// Name and Mode are required.
type NewConsumer struct {
	Name string `json:"name"`
	// Mode is [ModePush] or [ModePull].
	Mode  string `json:"mode"`
	Notes string `json:"notes,omitempty"`
	// FilterSubject (or FilterSubjects) narrows the stream's subjects.
	FilterSubject  string   `json:"filter_subject,omitempty"`
	FilterSubjects []string `json:"filter_subjects,omitempty"`
	// DeliveryGroup lets several subscribers share a push consumer.
	DeliveryGroup string `json:"delivery_group,omitempty"`
	// MaxInflight is JetStream's max ack pending (default 1000).
	MaxInflight *int `json:"max_inflight,omitempty"`
	// MaxRetry is JetStream's max deliver (-1 unlimited).
	MaxRetry *int `json:"max_retry,omitempty"`
	// AckWait before an unacknowledged message is redelivered (30s).
	AckWait *time.Duration `json:"ack_wait,omitempty"`
	// DeliverPolicy: "all" (default), "last", "new", "by_start_sequence"
	// (with OptStartSeq), "by_start_time" (with OptStartTime),
	// "last_per_subject".
	DeliverPolicy     string          `json:"deliver_policy,omitempty"`
	OptStartSeq       uint64          `json:"opt_start_seq,omitempty"`
	OptStartTime      *time.Time      `json:"opt_start_time,omitempty"`
	Backoff           []time.Duration `json:"backoff,omitempty"`
	MaxWaiting        *int            `json:"max_waiting,omitempty"`
	InactiveThreshold *time.Duration  `json:"inactive_threshold,omitempty"`
	Replicas          *int            `json:"replicas,omitempty"`
	MemoryStorage     bool            `json:"memory_storage,omitempty"`
	HeadersOnly       bool            `json:"headers_only,omitempty"`
}

// ConsumerInfo is a consumer as the server shows it.
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
	PushBound      bool           `json:"push_bound,omitempty"`
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
	Mode              string          `json:"mode"`
	FilterSubjects    []string        `json:"filter_subjects,omitempty"`
	DeliverPolicy     string          `json:"deliver_policy"`
	OptStartSeq       uint64          `json:"opt_start_seq,omitempty"`
	OptStartTime      *time.Time      `json:"opt_start_time,omitempty"`
	Backoff           []time.Duration `json:"backoff,omitempty"`
	InactiveThreshold time.Duration   `json:"inactive_threshold,omitempty"`
	Replicas          int             `json:"replicas"`
	MemoryStorage     bool            `json:"memory_storage,omitempty"`
	HeadersOnly       bool            `json:"headers_only,omitempty"`
}

// SequenceInfo is a consumer position.
type SequenceInfo struct {
	ConsumerSeq uint64     `json:"consumer_seq"`
	StreamSeq   uint64     `json:"stream_seq"`
	LastActive  *time.Time `json:"last_active,omitempty"`
}
