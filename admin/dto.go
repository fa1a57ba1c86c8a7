package admin

import (
	"encoding/base64"
	"time"

	"github.com/httpmq/httpmq/bridge"
)

// The JSON shapes of answers. Field names are the original httpmq's
// (apis/management.go there); fields it did not have are marked
// "extension". Durations are nanoseconds, times RFC 3339.

// streamInfo is a stream as GET /v1/admin/stream/:stream shows it.
type streamInfo struct {
	Config  streamConfig `json:"config"`
	Created time.Time    `json:"created"`
	State   streamState  `json:"state"`
}

type streamConfig struct {
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

type streamState struct {
	Messages      uint64    `json:"messages"`
	Bytes         uint64    `json:"bytes"`
	FirstSeq      uint64    `json:"first_seq"`
	FirstTS       time.Time `json:"first_ts"`
	LastSeq       uint64    `json:"last_seq"`
	LastTS        time.Time `json:"last_ts"`
	ConsumerCount int       `json:"consumer_count"`
	NumSubjects   uint64    `json:"num_subjects"` // extension
}

func toStreamInfo(si *bridge.StreamInfo) streamInfo {
	c, s := si.Config, si.State
	return streamInfo{
		Config: streamConfig{
			Name: c.Name, Description: c.Description, Subjects: c.Subjects,
			MaxConsumers: c.Limits.MaxConsumers, MaxMsgs: c.Limits.MaxMsgs, MaxBytes: c.Limits.MaxBytes,
			MaxAge: c.Limits.MaxAge, MaxMsgsPerSubject: c.Limits.MaxMsgsPerSubject, MaxMsgSize: c.Limits.MaxMsgSize,
			Storage: c.Storage, Retention: c.Retention, Discard: c.Discard, Replicas: c.Replicas,
			DuplicateWindow: c.Duplicates,
		},
		Created: si.Created.UTC(),
		State: streamState{
			Messages: s.Msgs, Bytes: s.Bytes, FirstSeq: s.FirstSeq, FirstTS: s.FirstTime.UTC(),
			LastSeq: s.LastSeq, LastTS: s.LastTime.UTC(), ConsumerCount: s.Consumers, NumSubjects: s.Subjects,
		},
	}
}

// consumerInfo is a consumer as GET …/consumer/:consumer shows it.
type consumerInfo struct {
	StreamName     string         `json:"stream_name"`
	Name           string         `json:"name"`
	Created        time.Time      `json:"created"`
	Config         consumerConfig `json:"config"`
	Delivered      sequenceInfo   `json:"delivered"`
	AckFloor       sequenceInfo   `json:"ack_floor"`
	NumAckPending  int            `json:"num_ack_pending"`
	NumRedelivered int            `json:"num_redelivered"`
	NumWaiting     int            `json:"num_waiting"`
	NumPending     uint64         `json:"num_pending"`
	PushBound      bool           `json:"push_bound,omitempty"` // extension
}

type consumerConfig struct {
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

type sequenceInfo struct {
	ConsumerSeq uint64     `json:"consumer_seq"`
	StreamSeq   uint64     `json:"stream_seq"`
	LastActive  *time.Time `json:"last_active,omitempty"`
}

func toConsumerInfo(ci *bridge.ConsumerInfo) consumerInfo {
	c := ci.Config
	mode := "pull"
	if c.Push {
		mode = "push"
	}
	cfg := consumerConfig{
		Notes: c.Description, DeliverSubject: c.DeliverSubject, DeliverGroup: c.DeliverGroup,
		MaxDeliver: c.MaxDeliver, AckWait: c.AckWait, MaxWaiting: c.MaxWaiting, MaxAckPending: c.MaxAckPending,
		Mode: mode, FilterSubjects: c.FilterSubjects, DeliverPolicy: c.DeliverPolicy, OptStartSeq: c.OptStartSeq,
		OptStartTime: utcPtr(c.OptStartTime), Backoff: c.BackOff, InactiveThreshold: c.InactiveThreshold,
		Replicas: c.Replicas, MemoryStorage: c.MemoryStorage, HeadersOnly: c.HeadersOnly,
	}
	if len(c.FilterSubjects) == 1 {
		cfg.FilterSubject = c.FilterSubjects[0]
	}
	return consumerInfo{
		StreamName: ci.Stream, Name: ci.Name, Created: ci.Created.UTC(), Config: cfg,
		Delivered:     sequenceInfo{ConsumerSeq: ci.Delivered.Consumer, StreamSeq: ci.Delivered.Stream, LastActive: utcPtr(ci.Delivered.Last)},
		AckFloor:      sequenceInfo{ConsumerSeq: ci.AckFloor.Consumer, StreamSeq: ci.AckFloor.Stream, LastActive: utcPtr(ci.AckFloor.Last)},
		NumAckPending: ci.NumAckPending, NumRedelivered: ci.NumRedelivered, NumWaiting: ci.NumWaiting,
		NumPending: ci.NumPending, PushBound: ci.PushBound,
	}
}

// storedMessage is a message read by sequence (extension).
type storedMessage struct {
	Stream   string              `json:"stream"`
	Subject  string              `json:"subject"`
	Sequence uint64              `json:"sequence"`
	Time     time.Time           `json:"time"`
	Headers  map[string][]string `json:"headers,omitempty"`
	B64Msg   string              `json:"b64_msg"`
}

func toStoredMessage(m *bridge.StoredMessage) storedMessage {
	return storedMessage{
		Stream: m.Stream, Subject: m.Subject, Sequence: m.Sequence, Time: m.Time.UTC(),
		Headers: m.Header, B64Msg: base64.StdEncoding.EncodeToString(m.Data),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
