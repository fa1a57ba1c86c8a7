package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig describes a stream. Zero limits mean "unlimited" (-1 in
// JetStream's terms); empty policies mean JetStream's defaults (limits
// retention, file storage, discard old, one replica).
type StreamConfig struct {
	Name        string
	Description string
	Subjects    []string
	// Retention is "limits", "interest" or "workqueue".
	Retention string
	// Storage is "file" or "memory".
	Storage string
	// Discard is "old" or "new".
	Discard  string
	Replicas int
	Limits   StreamLimits
	// Duplicates is the message-id de-duplication window. Default 2m.
	Duplicates time.Duration
}

// StreamLimits bound what a stream keeps. A value ≤ 0 means unlimited.
type StreamLimits struct {
	MaxConsumers      int
	MaxMsgs           int64
	MaxBytes          int64
	MaxAge            time.Duration
	MaxMsgsPerSubject int64
	MaxMsgSize        int32
}

// StreamInfo is a stream's configuration and state.
type StreamInfo struct {
	Config  StreamConfig
	Created time.Time
	State   StreamState
}

// StreamState is what a stream holds now.
type StreamState struct {
	Msgs      uint64
	Bytes     uint64
	FirstSeq  uint64
	FirstTime time.Time
	LastSeq   uint64
	LastTime  time.Time
	Consumers int
	Subjects  uint64
}

// StoredMessage is a message read from a stream by sequence.
type StoredMessage struct {
	Stream   string
	Subject  string
	Sequence uint64
	Header   map[string][]string
	Data     []byte
	Time     time.Time
}

// CreateStream defines a stream. Creating an identical stream again
// succeeds; one that exists with another configuration fails with
// [ErrStreamExists]. Its subjects may not overlap the reserved space
// ([ValidateStreamSubject], [ErrReservedSubject]).
func (b *Bridge) CreateStream(ctx context.Context, cfg StreamConfig) (*StreamInfo, error) {
	jc, err := toJSStream(cfg)
	if err != nil {
		return nil, err
	}
	if err := outsideReserved(cfg.Subjects, nil); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.js.CreateStream(ctx, jc)
	if err != nil {
		return nil, classify(err)
	}
	return fromJSStreamInfo(s.CachedInfo()), nil
}

// Streams lists every stream.
func (b *Bridge) Streams(ctx context.Context) ([]*StreamInfo, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	lister := b.js.ListStreams(ctx)
	var out []*StreamInfo
	for si := range lister.Info() {
		out = append(out, fromJSStreamInfo(si))
	}
	if err := lister.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Stream returns one stream's configuration and state.
func (b *Bridge) Stream(ctx context.Context, name string) (*StreamInfo, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.js.Stream(ctx, name)
	if err != nil {
		return nil, classify(err)
	}
	return fromJSStreamInfo(s.CachedInfo()), nil
}

// UpdateStream reads the stream's configuration, lets change modify it and
// writes it back. JetStream refuses changes it cannot apply (storage type,
// for one) with [ErrInvalidConfig]. Subjects added may not overlap the
// reserved space ([ErrReservedSubject]); those the stream had stay.
func (b *Bridge) UpdateStream(ctx context.Context, name string, change func(*StreamConfig)) (*StreamInfo, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.js.Stream(ctx, name)
	if err != nil {
		return nil, classify(err)
	}
	cur := fromJSStreamInfo(s.CachedInfo()).Config
	had := cur.Subjects
	change(&cur)
	cur.Name = name
	jc, err := toJSStream(cur)
	if err != nil {
		return nil, err
	}
	if err := outsideReserved(cur.Subjects, had); err != nil {
		return nil, err
	}
	// Keep what this package does not model as it was.
	orig := s.CachedInfo().Config
	orig.Description, orig.Subjects, orig.Retention, orig.Storage = jc.Description, jc.Subjects, jc.Retention, jc.Storage
	orig.Discard, orig.Replicas, orig.Duplicates = jc.Discard, jc.Replicas, jc.Duplicates
	orig.MaxConsumers, orig.MaxMsgs, orig.MaxBytes, orig.MaxAge = jc.MaxConsumers, jc.MaxMsgs, jc.MaxBytes, jc.MaxAge
	orig.MaxMsgsPerSubject, orig.MaxMsgSize = jc.MaxMsgsPerSubject, jc.MaxMsgSize
	s, err = b.js.UpdateStream(ctx, orig)
	if err != nil {
		return nil, classify(err)
	}
	return fromJSStreamInfo(s.CachedInfo()), nil
}

// DeleteStream deletes a stream, its messages and its consumers.
func (b *Bridge) DeleteStream(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return classify(b.js.DeleteStream(ctx, name))
}

// PurgeOptions narrow a purge. The zero value purges everything.
type PurgeOptions struct {
	// Subject purges only messages on this subject (wildcards allowed).
	Subject string
	// Sequence purges messages below this sequence.
	Sequence uint64
	// Keep keeps this many of the newest messages.
	Keep uint64
}

// PurgeStream removes messages from a stream and reports how many.
func (b *Bridge) PurgeStream(ctx context.Context, name string, opts PurgeOptions) (uint64, error) {
	if err := ValidateName(name); err != nil {
		return 0, err
	}
	if opts.Sequence > 0 && opts.Keep > 0 {
		return 0, fmt.Errorf("%w: purge by sequence and keep are exclusive", ErrInvalidConfig)
	}
	if opts.Subject != "" {
		if err := ValidateSubject(opts.Subject, true); err != nil {
			return 0, err
		}
	}
	req, _ := json.Marshal(struct {
		Subject  string `json:"filter,omitempty"`
		Sequence uint64 `json:"seq,omitempty"`
		Keep     uint64 `json:"keep,omitempty"`
	}{opts.Subject, opts.Sequence, opts.Keep}) // cannot fail
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	// A raw request: JetStream's reply says how many were purged, which
	// nats.go's Purge does not pass on.
	msg, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+name, req)
	if err != nil {
		return 0, classify(err)
	}
	var resp struct {
		Purged uint64              `json:"purged"`
		Error  *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("%w: purge: %v", ErrUnavailable, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeStreamNotFound {
			return 0, fmt.Errorf("%w: %s", ErrStreamNotFound, resp.Error.Description)
		}
		return 0, classify(resp.Error)
	}
	return resp.Purged, nil
}

// StoredMessage reads one message of a stream by its sequence.
func (b *Bridge) StoredMessage(ctx context.Context, stream string, seq uint64) (*StoredMessage, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, classify(err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, classify(err)
	}
	return &StoredMessage{
		Stream: stream, Subject: m.Subject, Sequence: m.Sequence,
		Header: m.Header, Data: m.Data, Time: m.Time,
	}, nil
}

func toJSStream(c StreamConfig) (jetstream.StreamConfig, error) {
	if err := ValidateName(c.Name); err != nil {
		return jetstream.StreamConfig{}, err
	}
	if len(c.Subjects) == 0 {
		return jetstream.StreamConfig{}, fmt.Errorf("%w: a stream needs at least one subject", ErrInvalidConfig)
	}
	for _, s := range c.Subjects {
		if err := ValidateSubject(s, true); err != nil {
			return jetstream.StreamConfig{}, err
		}
	}
	jc := jetstream.StreamConfig{
		Name:              c.Name,
		Description:       c.Description,
		Subjects:          c.Subjects,
		Replicas:          c.Replicas,
		Duplicates:        c.Duplicates,
		MaxConsumers:      int(unlimited(int64(c.Limits.MaxConsumers))),
		MaxMsgs:           unlimited(c.Limits.MaxMsgs),
		MaxBytes:          unlimited(c.Limits.MaxBytes),
		MaxAge:            max(c.Limits.MaxAge, 0),
		MaxMsgsPerSubject: unlimited(c.Limits.MaxMsgsPerSubject),
		MaxMsgSize:        int32(unlimited(int64(c.Limits.MaxMsgSize))),
	}
	var ok bool
	if jc.Retention, ok = retentions[c.Retention]; !ok {
		return jc, fmt.Errorf("%w: retention %q is not one of limits, interest, workqueue", ErrInvalidConfig, c.Retention)
	}
	if jc.Storage, ok = storages[c.Storage]; !ok {
		return jc, fmt.Errorf("%w: storage %q is not one of file, memory", ErrInvalidConfig, c.Storage)
	}
	if jc.Discard, ok = discards[c.Discard]; !ok {
		return jc, fmt.Errorf("%w: discard %q is not one of old, new", ErrInvalidConfig, c.Discard)
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return jc, fmt.Errorf("%w: replicas must be between 1 and 5", ErrInvalidConfig)
	}
	if c.Duplicates < 0 {
		return jc, fmt.Errorf("%w: duplicate window must not be negative", ErrInvalidConfig)
	}
	return jc, nil
}

// outsideReserved checks that the subjects of a stream, but those in had
// (it captured them already), cover no reserved subject.
func outsideReserved(subjects, had []string) error {
	for _, s := range subjects {
		if !slices.Contains(had, s) {
			if err := ValidateStreamSubject(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func unlimited(v int64) int64 {
	if v <= 0 {
		return -1
	}
	return v
}

var (
	retentions = map[string]jetstream.RetentionPolicy{"": jetstream.LimitsPolicy, "limits": jetstream.LimitsPolicy,
		"interest": jetstream.InterestPolicy, "workqueue": jetstream.WorkQueuePolicy}
	storages = map[string]jetstream.StorageType{"": jetstream.FileStorage, "file": jetstream.FileStorage,
		"memory": jetstream.MemoryStorage}
	discards = map[string]jetstream.DiscardPolicy{"": jetstream.DiscardOld, "old": jetstream.DiscardOld,
		"new": jetstream.DiscardNew}
)

func nameOf[K comparable](m map[string]K, v K) string {
	for k, x := range m {
		if x == v && k != "" {
			return k
		}
	}
	return ""
}

func fromJSStreamInfo(si *jetstream.StreamInfo) *StreamInfo {
	c := si.Config
	return &StreamInfo{
		Config: StreamConfig{
			Name: c.Name, Description: c.Description, Subjects: c.Subjects,
			Retention: nameOf(retentions, c.Retention), Storage: nameOf(storages, c.Storage),
			Discard: nameOf(discards, c.Discard), Replicas: c.Replicas, Duplicates: c.Duplicates,
			Limits: StreamLimits{
				MaxConsumers: c.MaxConsumers, MaxMsgs: c.MaxMsgs, MaxBytes: c.MaxBytes, MaxAge: c.MaxAge,
				MaxMsgsPerSubject: c.MaxMsgsPerSubject, MaxMsgSize: c.MaxMsgSize,
			},
		},
		Created: si.Created,
		State: StreamState{
			Msgs: si.State.Msgs, Bytes: si.State.Bytes, FirstSeq: si.State.FirstSeq, FirstTime: si.State.FirstTime,
			LastSeq: si.State.LastSeq, LastTime: si.State.LastTime, Consumers: si.State.Consumers,
			Subjects: si.State.NumSubjects,
		},
	}
}
