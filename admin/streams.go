package admin

import (
	"net/http"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// limitsRequest is the original's JSStreamLimits (protocol.StreamLimits):
// every field optional; 0 and -1 mean unlimited.
type limitsRequest protocol.StreamLimits

// limits gives l the server's methods.
func limits(l *protocol.StreamLimits) *limitsRequest { return (*limitsRequest)(l) }

func (l *limitsRequest) validate() error {
	for _, err := range []error{
		atLeast("max_consumers", l.MaxConsumers, -1),
		atLeast("max_msgs", l.MaxMsgs, -1),
		atLeast("max_bytes", l.MaxBytes, -1),
		atLeast("max_msgs_per_subject", l.MaxMsgsPerSubject, -1),
		atLeast("max_msg_size", l.MaxMsgSize, -1),
	} {
		if err != nil {
			return err
		}
	}
	if l.MaxAge != nil && *l.MaxAge < 0 {
		return badRequest("max_age must not be negative (0 means unlimited), got %d", *l.MaxAge)
	}
	return nil
}

// apply sets the given limits on c. When max_age shrinks below the
// duplicate window and the caller did not set that window, the window
// shrinks with it (JetStream refuses a window longer than max_age).
func (l *limitsRequest) apply(c *bridge.StreamConfig, dupSet bool) {
	set(&c.Limits.MaxConsumers, l.MaxConsumers)
	set(&c.Limits.MaxMsgs, l.MaxMsgs)
	set(&c.Limits.MaxBytes, l.MaxBytes)
	set(&c.Limits.MaxAge, l.MaxAge)
	set(&c.Limits.MaxMsgsPerSubject, l.MaxMsgsPerSubject)
	set(&c.Limits.MaxMsgSize, l.MaxMsgSize)
	if !dupSet && c.Limits.MaxAge > 0 && c.Duplicates > c.Limits.MaxAge {
		c.Duplicates = c.Limits.MaxAge
	}
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// settingsRequest are the stream settings besides name, subjects and
// limits (all extensions; protocol.StreamSettings).
type settingsRequest protocol.StreamSettings

// settings gives s the server's methods.
func settings(s *protocol.StreamSettings) *settingsRequest { return (*settingsRequest)(s) }

func (s *settingsRequest) validate() error {
	if err := oneOf("retention", s.Retention, "limits", "interest", "workqueue"); err != nil {
		return err
	}
	if err := oneOf("discard", s.Discard, "old", "new"); err != nil {
		return err
	}
	if s.Replicas != nil && (*s.Replicas < 0 || *s.Replicas > 5) {
		return badRequest("replicas must be between 1 and 5 (0 means 1), got %d", *s.Replicas)
	}
	if s.DuplicateWindow != nil && *s.DuplicateWindow < 0 {
		return badRequest("duplicate_window must not be negative, got %d", *s.DuplicateWindow)
	}
	return nil
}

func (s *settingsRequest) apply(c *bridge.StreamConfig) {
	set(&c.Description, s.Description)
	if s.Retention != "" {
		c.Retention = s.Retention
	}
	if s.Discard != "" {
		c.Discard = s.Discard
	}
	set(&c.Replicas, s.Replicas)
	set(&c.Duplicates, s.DuplicateWindow)
}

// createStreamRequest is the body of POST /v1/admin/stream
// (protocol.NewStream): the original's JSStreamParam (name, subjects,
// limits at the top level) plus extensions.
type createStreamRequest = protocol.NewStream

// createStream defines a stream; an identical one again is a success, a
// different one 409 stream_exists. Without subjects, the stream captures
// its own name (as JetStream does).
func (a *api) createStream(r *http.Request, _ httprouter.Params) (any, error) {
	var req createStreamRequest
	if err := httpx.DecodeJSON(r, &req, a.decode); err != nil {
		return nil, err
	}
	if err := a.allow(r, auth.AdminWrite, req.Name, ""); err != nil {
		return nil, err
	}
	if err := validName("name", req.Name); err != nil {
		return nil, err
	}
	if len(req.Subjects) == 0 {
		req.Subjects = []string{req.Name}
	}
	if err := a.streamSubjects(r, req.Name, req.Subjects); err != nil {
		return nil, err
	}
	if err := oneOf("storage", req.Storage, "file", "memory"); err != nil {
		return nil, err
	}
	if err := limits(&req.StreamLimits).validate(); err != nil {
		return nil, err
	}
	if err := settings(&req.StreamSettings).validate(); err != nil {
		return nil, err
	}
	if age, dup := req.MaxAge, req.DuplicateWindow; age != nil && dup != nil && *age > 0 && *dup > *age {
		return nil, badRequest("duplicate_window (%d) must not be longer than max_age (%d)", *dup, *age)
	}
	cfg := bridge.StreamConfig{Name: req.Name, Subjects: req.Subjects, Storage: req.Storage}
	settings(&req.StreamSettings).apply(&cfg)
	limits(&req.StreamLimits).apply(&cfg, true) // JetStream itself fits the default window to max_age
	si, err := a.bridge.CreateStream(r.Context(), cfg)
	if err != nil {
		return nil, err
	}
	return struct {
		Stream protocol.StreamInfo `json:"stream"`
	}{toStreamInfo(si)}, nil
}

// listStreams answers every stream, keyed by name.
func (a *api) listStreams(r *http.Request, _ httprouter.Params) (any, error) {
	if err := a.allow(r, auth.AdminRead, "", ""); err != nil {
		return nil, err
	}
	all, err := a.bridge.Streams(r.Context())
	if err != nil {
		return nil, err
	}
	out := make(map[string]protocol.StreamInfo, len(all))
	for _, si := range all {
		out[si.Config.Name] = toStreamInfo(si)
	}
	return struct {
		Streams map[string]protocol.StreamInfo `json:"streams"`
	}{out}, nil
}

func (a *api) getStream(r *http.Request, ps httprouter.Params) (any, error) {
	name, _, err := a.target(r, auth.AdminRead, ps)
	if err != nil {
		return nil, err
	}
	si, err := a.bridge.Stream(r.Context(), name)
	if err != nil {
		return nil, err
	}
	return struct {
		Stream protocol.StreamInfo `json:"stream"`
	}{toStreamInfo(si)}, nil
}

func (a *api) deleteStream(r *http.Request, ps httprouter.Params) (any, error) {
	name, _, err := a.target(r, auth.AdminWrite, ps)
	if err != nil {
		return nil, err
	}
	return nil, a.bridge.DeleteStream(r.Context(), name)
}

// subjectsRequest is the body of PUT …/subject (the original's
// APIRestReqStreamSubjects).
type subjectsRequest = protocol.StreamSubjects

func (a *api) changeSubjects(r *http.Request, ps httprouter.Params) (any, error) {
	name := ps.ByName("stream")
	if err := a.allow(r, auth.AdminWrite, name, ""); err != nil {
		return nil, err
	}
	var req subjectsRequest
	if err := httpx.DecodeJSON(r, &req, a.decode); err != nil {
		return nil, err
	}
	if err := validName("stream", name); err != nil {
		return nil, err
	}
	if len(req.Subjects) == 0 {
		return nil, badRequest("subjects must list at least one subject")
	}
	if err := a.streamSubjects(r, name, req.Subjects); err != nil {
		return nil, err
	}
	return a.update(r, name, func(c *bridge.StreamConfig) { c.Subjects = req.Subjects })
}

// changeLimits is the original's PUT …/limit: only the limits given
// change.
func (a *api) changeLimits(r *http.Request, ps httprouter.Params) (any, error) {
	name := ps.ByName("stream")
	if err := a.allow(r, auth.AdminWrite, name, ""); err != nil {
		return nil, err
	}
	var req limitsRequest
	if err := httpx.DecodeJSON(r, &req, a.decode); err != nil {
		return nil, err
	}
	if err := validName("stream", name); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	return a.update(r, name, func(c *bridge.StreamConfig) { req.apply(c, false) })
}

// updateStreamRequest is the body of PUT /v1/admin/stream/:stream
// (extension; protocol.StreamUpdate): any of subjects, limits and
// settings; what is absent stays.
type updateStreamRequest = protocol.StreamUpdate

func (a *api) updateStream(r *http.Request, ps httprouter.Params) (any, error) {
	name := ps.ByName("stream")
	if err := a.allow(r, auth.AdminWrite, name, ""); err != nil {
		return nil, err
	}
	var req updateStreamRequest
	if err := httpx.DecodeJSON(r, &req, a.decode); err != nil {
		return nil, err
	}
	if err := validName("stream", name); err != nil {
		return nil, err
	}
	if req.Subjects != nil && len(req.Subjects) == 0 {
		return nil, badRequest("subjects, when given, must list at least one subject")
	}
	if err := a.streamSubjects(r, name, req.Subjects); err != nil {
		return nil, err
	}
	if err := limits(&req.StreamLimits).validate(); err != nil {
		return nil, err
	}
	if err := settings(&req.StreamSettings).validate(); err != nil {
		return nil, err
	}
	return a.update(r, name, func(c *bridge.StreamConfig) {
		if req.Subjects != nil {
			c.Subjects = req.Subjects
		}
		settings(&req.StreamSettings).apply(c)
		limits(&req.StreamLimits).apply(c, req.DuplicateWindow != nil)
	})
}

// update applies change through the bridge and answers the new stream.
func (a *api) update(r *http.Request, name string, change func(*bridge.StreamConfig)) (any, error) {
	si, err := a.bridge.UpdateStream(r.Context(), name, change)
	if err != nil {
		return nil, err
	}
	return struct {
		Stream protocol.StreamInfo `json:"stream"`
	}{toStreamInfo(si)}, nil
}
