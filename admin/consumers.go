package admin

import (
	"net/http"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// createConsumerRequest is the body of POST …/consumer
// (protocol.NewConsumer): the original's JetStreamConsumerParam plus
// extensions.
type createConsumerRequest protocol.NewConsumer

// config validates the request and maps it onto the bridge's config.
func (q *createConsumerRequest) config() (bridge.ConsumerConfig, error) {
	var c bridge.ConsumerConfig
	if err := validName("name", q.Name); err != nil {
		return c, err
	}
	if err := required("mode", q.Mode); err != nil {
		return c, err
	}
	if err := oneOf("mode", q.Mode, "push", "pull"); err != nil {
		return c, err
	}
	push := q.Mode == "push"
	if q.DeliveryGroup != "" {
		if !push {
			return c, badRequest("delivery_group is only for push consumers")
		}
		if err := validName("delivery_group", q.DeliveryGroup); err != nil {
			return c, err
		}
	}
	if err := atLeast("max_inflight", q.MaxInflight, 1); err != nil {
		return c, err
	}
	if err := atLeast("max_retry", q.MaxRetry, -1); err != nil {
		return c, err
	}
	if q.AckWait != nil && *q.AckWait < 0 {
		return c, badRequest("ack_wait must not be negative, got %d", *q.AckWait)
	}
	if q.InactiveThreshold != nil && *q.InactiveThreshold < 0 {
		return c, badRequest("inactive_threshold must not be negative, got %d", *q.InactiveThreshold)
	}
	for _, d := range q.Backoff {
		if d <= 0 {
			return c, badRequest("backoff durations must be positive, got %d", d)
		}
	}
	filters := q.FilterSubjects
	if q.FilterSubject != "" {
		if len(filters) > 0 {
			return c, badRequest("give filter_subject or filter_subjects, not both")
		}
		filters = []string{q.FilterSubject}
	}
	if err := validSubjects("filter_subject", filters); err != nil {
		return c, err
	}
	if err := oneOf("deliver_policy", q.DeliverPolicy,
		"all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"); err != nil {
		return c, err
	}
	switch {
	case q.DeliverPolicy == "by_start_sequence" && q.OptStartSeq == 0:
		return c, badRequest("deliver_policy by_start_sequence needs opt_start_seq")
	case q.DeliverPolicy != "by_start_sequence" && q.OptStartSeq != 0:
		return c, badRequest("opt_start_seq needs deliver_policy by_start_sequence")
	case q.DeliverPolicy == "by_start_time" && q.OptStartTime == nil:
		return c, badRequest("deliver_policy by_start_time needs opt_start_time")
	case q.DeliverPolicy != "by_start_time" && q.OptStartTime != nil:
		return c, badRequest("opt_start_time needs deliver_policy by_start_time")
	}
	if q.MaxWaiting != nil {
		if push {
			return c, badRequest("max_waiting is only for pull consumers")
		}
		if err := atLeast("max_waiting", q.MaxWaiting, 1); err != nil {
			return c, err
		}
	}
	if q.Replicas != nil && (*q.Replicas < 0 || *q.Replicas > 5) {
		return c, badRequest("replicas must be between 1 and 5 (0 means the stream's), got %d", *q.Replicas)
	}
	c = bridge.ConsumerConfig{
		Name: q.Name, Description: q.Notes, Push: push, DeliverGroup: q.DeliveryGroup,
		FilterSubjects: filters, BackOff: q.Backoff, DeliverPolicy: q.DeliverPolicy,
		OptStartSeq: q.OptStartSeq, OptStartTime: q.OptStartTime,
		MemoryStorage: q.MemoryStorage, HeadersOnly: q.HeadersOnly,
	}
	set(&c.MaxAckPending, q.MaxInflight)
	set(&c.MaxDeliver, q.MaxRetry)
	set(&c.AckWait, q.AckWait)
	set(&c.MaxWaiting, q.MaxWaiting)
	set(&c.InactiveThreshold, q.InactiveThreshold)
	set(&c.Replicas, q.Replicas)
	return c, nil
}

// createConsumer defines a durable consumer; an identical one again is a
// success, a different one 409 consumer_exists.
func (a *api) createConsumer(r *http.Request, ps httprouter.Params) (any, error) {
	stream := ps.ByName("stream")
	var req createConsumerRequest
	if err := httpx.DecodeJSON(r, &req, a.decode); err != nil {
		return nil, err
	}
	if err := a.allow(r, auth.AdminWrite, stream, req.Name); err != nil {
		return nil, err
	}
	if err := validName("stream", stream); err != nil {
		return nil, err
	}
	cfg, err := req.config()
	if err != nil {
		return nil, err
	}
	ci, err := a.bridge.CreateConsumer(r.Context(), stream, cfg)
	if err != nil {
		return nil, err
	}
	return struct {
		Consumer protocol.ConsumerInfo `json:"consumer"`
	}{toConsumerInfo(ci)}, nil
}

// listConsumers answers every consumer of a stream, keyed by name.
func (a *api) listConsumers(r *http.Request, ps httprouter.Params) (any, error) {
	stream, _, err := a.target(r, auth.AdminRead, ps)
	if err != nil {
		return nil, err
	}
	all, err := a.bridge.Consumers(r.Context(), stream)
	if err != nil {
		return nil, err
	}
	out := make(map[string]protocol.ConsumerInfo, len(all))
	for _, ci := range all {
		out[ci.Name] = toConsumerInfo(ci)
	}
	return struct {
		Consumers map[string]protocol.ConsumerInfo `json:"consumers"`
	}{out}, nil
}

func (a *api) getConsumer(r *http.Request, ps httprouter.Params) (any, error) {
	stream, name, err := a.target(r, auth.AdminRead, ps)
	if err != nil {
		return nil, err
	}
	ci, err := a.bridge.Consumer(r.Context(), stream, name)
	if err != nil {
		return nil, err
	}
	return struct {
		Consumer protocol.ConsumerInfo `json:"consumer"`
	}{toConsumerInfo(ci)}, nil
}

func (a *api) deleteConsumer(r *http.Request, ps httprouter.Params) (any, error) {
	stream, name, err := a.target(r, auth.AdminWrite, ps)
	if err != nil {
		return nil, err
	}
	return nil, a.bridge.DeleteConsumer(r.Context(), stream, name)
}
