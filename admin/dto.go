package admin

import (
	"time"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/protocol"
)

// The JSON shapes of answers are protocol's REST types (protocol/rest.go),
// shared with the Go SDK: field names are the original httpmq's
// (apis/management.go there), durations nanoseconds, times RFC 3339.

func toStreamInfo(si *bridge.StreamInfo) protocol.StreamInfo {
	c, s := si.Config, si.State
	return protocol.StreamInfo{
		Config: protocol.StreamConfig{
			Name: c.Name, Description: c.Description, Subjects: c.Subjects,
			MaxConsumers: c.Limits.MaxConsumers, MaxMsgs: c.Limits.MaxMsgs, MaxBytes: c.Limits.MaxBytes,
			MaxAge: c.Limits.MaxAge, MaxMsgsPerSubject: c.Limits.MaxMsgsPerSubject, MaxMsgSize: c.Limits.MaxMsgSize,
			Storage: c.Storage, Retention: c.Retention, Discard: c.Discard, Replicas: c.Replicas,
			DuplicateWindow: c.Duplicates,
		},
		Created: si.Created.UTC(),
		State: protocol.StreamState{
			Messages: s.Msgs, Bytes: s.Bytes, FirstSeq: s.FirstSeq, FirstTS: s.FirstTime.UTC(),
			LastSeq: s.LastSeq, LastTS: s.LastTime.UTC(), ConsumerCount: s.Consumers, NumSubjects: s.Subjects,
		},
	}
}

func toConsumerInfo(ci *bridge.ConsumerInfo) protocol.ConsumerInfo {
	c := ci.Config
	mode := "pull"
	if c.Push {
		mode = "push"
	}
	cfg := protocol.ConsumerConfig{
		Notes: c.Description, DeliverSubject: c.DeliverSubject, DeliverGroup: c.DeliverGroup,
		MaxDeliver: c.MaxDeliver, AckWait: c.AckWait, MaxWaiting: c.MaxWaiting, MaxAckPending: c.MaxAckPending,
		Mode: mode, FilterSubjects: c.FilterSubjects, DeliverPolicy: c.DeliverPolicy, OptStartSeq: c.OptStartSeq,
		OptStartTime: utcPtr(c.OptStartTime), Backoff: c.BackOff, InactiveThreshold: c.InactiveThreshold,
		Replicas: c.Replicas, MemoryStorage: c.MemoryStorage, HeadersOnly: c.HeadersOnly,
	}
	if len(c.FilterSubjects) == 1 {
		cfg.FilterSubject = c.FilterSubjects[0]
	}
	return protocol.ConsumerInfo{
		StreamName: ci.Stream, Name: ci.Name, Created: ci.Created.UTC(), Config: cfg,
		Delivered:     protocol.SequenceInfo{ConsumerSeq: ci.Delivered.Consumer, StreamSeq: ci.Delivered.Stream, LastActive: utcPtr(ci.Delivered.Last)},
		AckFloor:      protocol.SequenceInfo{ConsumerSeq: ci.AckFloor.Consumer, StreamSeq: ci.AckFloor.Stream, LastActive: utcPtr(ci.AckFloor.Last)},
		NumAckPending: ci.NumAckPending, NumRedelivered: ci.NumRedelivered, NumWaiting: ci.NumWaiting,
		NumPending: ci.NumPending, PushBound: ci.PushBound,
	}
}

func toStoredMessage(m *bridge.StoredMessage) protocol.StoredMessage {
	data := m.Data
	if data == nil {
		data = []byte{} // "b64_msg":"" rather than null
	}
	return protocol.StoredMessage{
		Stream: m.Stream, Subject: m.Subject, Sequence: m.Sequence, Time: m.Time.UTC(),
		Header: protocol.Header(m.Header), Data: data,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
