package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerConfig describes a durable consumer with explicit acks.
//
// Every consumer httpmq makes is a JetStream pull consumer, push mode
// included: only pulling lets httpmq ask JetStream for no more messages
// than each subscriber has room for (docs/delivery.md). Push is the
// original httpmq's name for consumers that subscribers read over a
// long-lived response; the mode and the delivery group are kept in the
// consumer's metadata. Consumers made elsewhere with a deliver subject
// (JetStream push consumers) can be read too: DeliverSubject says so.
type ConsumerConfig struct {
	Name        string
	Description string
	// Push is the consumer's mode: push (the original httpmq's
	// subscriptions, with an optional delivery group) or pull.
	Push bool
	// DeliverSubject of a JetStream push consumer made outside httpmq;
	// always empty in what CreateConsumer makes.
	DeliverSubject string
	// DeliverGroup names the group of subscribers that share a push
	// consumer; subscribers must name it.
	DeliverGroup string
	// FilterSubjects narrow what the consumer sees (wildcards allowed).
	FilterSubjects []string
	// AckWait before an unacked message is redelivered. Default 30s.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message; ≤ 0 is unlimited.
	MaxDeliver int
	// MaxAckPending caps unacked messages across the consumer; ≤ 0 means
	// JetStream's default (1000).
	MaxAckPending int
	// BackOff sets redelivery delays per attempt, overriding AckWait.
	BackOff []time.Duration
	// DeliverPolicy is "all" (default), "last", "new",
	// "by_start_sequence", "by_start_time" or "last_per_subject".
	DeliverPolicy string
	OptStartSeq   uint64
	OptStartTime  *time.Time
	// MaxWaiting caps outstanding pull requests (pull consumers).
	MaxWaiting int
	// InactiveThreshold deletes the consumer after this long without
	// activity; zero keeps it forever.
	InactiveThreshold time.Duration
	Replicas          int
	MemoryStorage     bool
	// HeadersOnly delivers headers without payloads.
	HeadersOnly bool
}

// ConsumerInfo is a consumer's configuration and state.
type ConsumerInfo struct {
	Stream         string
	Name           string
	Created        time.Time
	Config         ConsumerConfig
	Delivered      SequencePair
	AckFloor       SequencePair
	NumAckPending  int
	NumRedelivered int
	NumWaiting     int
	NumPending     uint64
	// PushBound is true when a push consumer has a subscriber somewhere.
	PushBound bool
}

// SequencePair locates a message on a consumer and in its stream.
type SequencePair struct {
	Consumer uint64
	Stream   uint64
	Last     *time.Time
}

// CreateConsumer defines a durable consumer on stream. An identical one
// again succeeds; a different one with the same name fails with
// [ErrConsumerExists].
func (b *Bridge) CreateConsumer(ctx context.Context, stream string, cfg ConsumerConfig) (*ConsumerInfo, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	jc, err := toJSConsumer(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if len(cfg.FilterSubjects) > 0 {
		s, err := b.js.Stream(ctx, stream)
		if err != nil {
			return nil, classify(err)
		}
		if err := checkFilters(s.CachedInfo().Config, cfg.FilterSubjects); err != nil {
			return nil, err
		}
	}
	c, err := b.js.CreateConsumer(ctx, stream, jc)
	if err != nil {
		return b.consumerExists(ctx, stream, cfg, err)
	}
	return fromJSConsumerInfo(c.CachedInfo()), nil
}

// checkFilters refuses a filter subject that can match no subject the
// stream captures: such a consumer could never deliver a message.
// (nats-server refused these itself before 2.10; the original httpmq's
// clients count on the refusal.) A filter is accepted when it shares at
// least one subject with one of the stream's subjects, whichever is the
// wider: orders.eu.* on orders.>, orders.> on orders.* (it then sees the
// whole stream), orders.*.created on orders.eu.* (it sees
// orders.eu.created). Streams that mirror or source others, or transform
// subjects, can hold any subject and are not checked.
func checkFilters(sc jetstream.StreamConfig, filters []string) error {
	if sc.Mirror != nil || len(sc.Sources) > 0 || sc.SubjectTransform != nil || len(sc.Subjects) == 0 {
		return nil
	}
	for _, f := range filters {
		if !slices.ContainsFunc(sc.Subjects, func(s string) bool { return server.SubjectsCollide(f, s) }) {
			return fmt.Errorf("%w: filter %s matches none of stream %s's subjects (%s)", ErrFilterNotInStream, f, sc.Name, strings.Join(sc.Subjects, ", "))
		}
	}
	return nil
}

// consumerExists turns "exists" into success, with the existing
// consumer, when it is what was asked for (JetStream compares fields
// httpmq does not set, such as defaults it filled in).
func (b *Bridge) consumerExists(ctx context.Context, stream string, want ConsumerConfig, err error) (*ConsumerInfo, error) {
	err = classify(err)
	if !errors.Is(err, ErrConsumerExists) {
		return nil, err
	}
	have, gerr := b.Consumer(ctx, stream, want.Name)
	if gerr != nil {
		return nil, err
	}
	if sameConsumer(have.Config, want) {
		return have, nil
	}
	return nil, err
}

// sameConsumer compares two configurations with JetStream's defaults
// filled in.
func sameConsumer(a, b ConsumerConfig) bool {
	a, b = normConsumer(a), normConsumer(b)
	at, bt := a.OptStartTime, b.OptStartTime
	a.OptStartTime, b.OptStartTime = nil, nil
	if (at == nil) != (bt == nil) || (at != nil && !at.Equal(*bt)) {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func normConsumer(c ConsumerConfig) ConsumerConfig {
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = -1
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1000
	}
	if c.DeliverPolicy == "" {
		c.DeliverPolicy = "all"
	}
	if c.MaxWaiting <= 0 {
		c.MaxWaiting = 512
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if len(c.FilterSubjects) == 0 {
		c.FilterSubjects = nil
	}
	if len(c.BackOff) == 0 {
		c.BackOff = nil
	}
	return c
}

// Consumers lists the consumers of a stream.
func (b *Bridge) Consumers(ctx context.Context, stream string) ([]*ConsumerInfo, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, classify(err)
	}
	lister := s.ListConsumers(ctx)
	var out []*ConsumerInfo
	for ci := range lister.Info() {
		out = append(out, fromJSConsumerInfo(ci))
	}
	if err := lister.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Consumer returns one consumer's configuration and state.
func (b *Bridge) Consumer(ctx context.Context, stream, name string) (*ConsumerInfo, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ci, err := b.consumerInfo(ctx, stream, name)
	if err != nil {
		return nil, err
	}
	return fromJSConsumerInfo(ci), nil
}

// consumerInfo asks JetStream directly, for push and pull consumers alike
// (nats.go's typed getters refuse one kind or the other).
func (b *Bridge) consumerInfo(ctx context.Context, stream, name string) (*jetstream.ConsumerInfo, error) {
	if err := ValidateName(stream); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	msg, err := b.nc.RequestWithContext(ctx, "$JS.API.CONSUMER.INFO."+stream+"."+name, nil)
	if err != nil {
		return nil, classify(err)
	}
	var resp struct {
		jetstream.ConsumerInfo
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("%w: consumer info: %v", ErrUnavailable, err)
	}
	if resp.Error != nil {
		switch resp.Error.ErrorCode {
		case jetstream.JSErrCodeStreamNotFound:
			return nil, fmt.Errorf("%w: %s", ErrStreamNotFound, resp.Error.Description)
		case jetstream.JSErrCodeConsumerNotFound:
			return nil, fmt.Errorf("%w: %s", ErrConsumerNotFound, resp.Error.Description)
		}
		return nil, classify(resp.Error)
	}
	return &resp.ConsumerInfo, nil
}

// DeleteConsumer deletes a consumer; its subscribers' subscriptions end.
func (b *Bridge) DeleteConsumer(ctx context.Context, stream, name string) error {
	if err := ValidateName(stream); err != nil {
		return err
	}
	if err := ValidateName(name); err != nil {
		return err
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if _, err := b.js.Stream(ctx, stream); err != nil {
		return classify(err)
	}
	return classify(b.js.DeleteConsumer(ctx, stream, name))
}

// Metadata keys of the consumers httpmq makes: the mode (push or pull)
// and a push consumer's delivery group.
const (
	metaMode  = "httpmq.mode"
	metaGroup = "httpmq.group"
)

var deliverPolicies = map[string]jetstream.DeliverPolicy{
	"": jetstream.DeliverAllPolicy, "all": jetstream.DeliverAllPolicy, "last": jetstream.DeliverLastPolicy,
	"new": jetstream.DeliverNewPolicy, "by_start_sequence": jetstream.DeliverByStartSequencePolicy,
	"by_start_time": jetstream.DeliverByStartTimePolicy, "last_per_subject": jetstream.DeliverLastPerSubjectPolicy,
}

func toJSConsumer(c ConsumerConfig) (jetstream.ConsumerConfig, error) {
	var jc jetstream.ConsumerConfig
	if err := ValidateName(c.Name); err != nil {
		return jc, err
	}
	for _, f := range c.FilterSubjects {
		if err := ValidateSubject(f, true); err != nil {
			return jc, err
		}
	}
	if c.DeliverSubject != "" {
		return jc, fmt.Errorf("%w: httpmq makes pull consumers only; a deliver subject is not taken", ErrInvalidConfig)
	}
	if !c.Push && c.DeliverGroup != "" {
		return jc, fmt.Errorf("%w: delivery groups are for push consumers", ErrInvalidConfig)
	}
	if c.DeliverGroup != "" {
		if err := ValidateName(c.DeliverGroup); err != nil {
			return jc, fmt.Errorf("%w: delivery group: %v", ErrInvalidConfig, err)
		}
	}
	if c.AckWait < 0 || c.InactiveThreshold < 0 {
		return jc, fmt.Errorf("%w: durations must not be negative", ErrInvalidConfig)
	}
	dp, ok := deliverPolicies[c.DeliverPolicy]
	if !ok {
		return jc, fmt.Errorf("%w: deliver policy %q is not one of all, last, new, by_start_sequence, by_start_time, last_per_subject",
			ErrInvalidConfig, c.DeliverPolicy)
	}
	if dp == jetstream.DeliverByStartSequencePolicy && c.OptStartSeq == 0 {
		return jc, fmt.Errorf("%w: deliver policy by_start_sequence needs opt_start_seq", ErrInvalidConfig)
	}
	if dp == jetstream.DeliverByStartTimePolicy && c.OptStartTime == nil {
		return jc, fmt.Errorf("%w: deliver policy by_start_time needs opt_start_time", ErrInvalidConfig)
	}
	jc = jetstream.ConsumerConfig{
		Durable:           c.Name,
		Description:       c.Description,
		DeliverPolicy:     dp,
		OptStartSeq:       c.OptStartSeq,
		OptStartTime:      c.OptStartTime,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           c.AckWait,
		MaxDeliver:        c.MaxDeliver,
		BackOff:           c.BackOff,
		MaxAckPending:     c.MaxAckPending,
		MaxWaiting:        c.MaxWaiting,
		InactiveThreshold: c.InactiveThreshold,
		Replicas:          c.Replicas,
		MemoryStorage:     c.MemoryStorage,
		HeadersOnly:       c.HeadersOnly,
		Metadata:          map[string]string{metaMode: "pull"},
	}
	if c.Push {
		jc.Metadata[metaMode] = "push"
		if c.DeliverGroup != "" {
			jc.Metadata[metaGroup] = c.DeliverGroup
		}
	}
	if jc.MaxDeliver <= 0 {
		jc.MaxDeliver = -1
	}
	switch len(c.FilterSubjects) {
	case 0:
	case 1:
		jc.FilterSubject = c.FilterSubjects[0]
	default:
		jc.FilterSubjects = c.FilterSubjects
	}
	return jc, nil
}

func fromJSConsumerInfo(ci *jetstream.ConsumerInfo) *ConsumerInfo {
	c := ci.Config
	filters := c.FilterSubjects
	if c.FilterSubject != "" {
		filters = []string{c.FilterSubject}
	}
	name := c.Durable
	if name == "" {
		name = ci.Name
	}
	push, group := c.DeliverSubject != "", c.DeliverGroup
	if !push {
		push, group = c.Metadata[metaMode] == "push", c.Metadata[metaGroup]
	}
	return &ConsumerInfo{
		Stream: ci.Stream, Name: ci.Name, Created: ci.Created,
		Config: ConsumerConfig{
			Name: name, Description: c.Description, Push: push,
			DeliverSubject: c.DeliverSubject, DeliverGroup: group, FilterSubjects: filters,
			AckWait: c.AckWait, MaxDeliver: c.MaxDeliver, MaxAckPending: c.MaxAckPending, BackOff: c.BackOff,
			DeliverPolicy: nameOf(deliverPolicies, c.DeliverPolicy), OptStartSeq: c.OptStartSeq,
			OptStartTime: c.OptStartTime, MaxWaiting: c.MaxWaiting, InactiveThreshold: c.InactiveThreshold,
			Replicas: c.Replicas, MemoryStorage: c.MemoryStorage, HeadersOnly: c.HeadersOnly,
		},
		Delivered:      SequencePair{Consumer: ci.Delivered.Consumer, Stream: ci.Delivered.Stream, Last: ci.Delivered.Last},
		AckFloor:       SequencePair{Consumer: ci.AckFloor.Consumer, Stream: ci.AckFloor.Stream, Last: ci.AckFloor.Last},
		NumAckPending:  ci.NumAckPending,
		NumRedelivered: ci.NumRedelivered,
		NumWaiting:     ci.NumWaiting,
		NumPending:     ci.NumPending,
		PushBound:      ci.PushBound,
	}
}
