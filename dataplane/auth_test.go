package dataplane_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/dataplane"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/protocol"
)

// recordingAuthz forbids the actions of one kind and records every check.
type recordingAuthz struct {
	deny auth.Kind
	mu   sync.Mutex
	seen []auth.Action
}

func (a *recordingAuthz) Authorize(_ context.Context, _ auth.Identity, what auth.Action) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, what)
	if what.Kind == a.deny {
		return fmt.Errorf("%w: %s", auth.ErrForbidden, what)
	}
	return nil
}

// TestGateChecksEveryAction: publish, subscribe and each kind of ack ask
// the gate, naming what they act on, and a refusal answers 403.
func TestGateChecksEveryAction(t *testing.T) {
	cases := []struct {
		kind   auth.Kind
		method string
		path   string
		body   string
		want   auth.Action
	}{
		{auth.Publish, "POST", "/v1/data/subject/s", "AA==", auth.Action{Kind: auth.Publish, Subject: "s"}},
		{auth.Subscribe, "GET", "/v1/data/stream/S/consumer/c", "", auth.Action{Kind: auth.Subscribe, Stream: "S", Consumer: "c"}},
		{auth.Ack, "POST", "/v1/data/stream/S/consumer/c/ack", `{"consumer":1,"stream":1}`, auth.Action{Kind: auth.Ack, Stream: "S", Consumer: "c"}},
		{auth.Ack, "POST", "/v1/data/stream/S/consumer/c/nak", `{"consumer":1,"stream":1}`, auth.Action{Kind: auth.Ack, Stream: "S", Consumer: "c"}},
		{auth.Ack, "POST", "/v1/data/stream/S/consumer/c/term", `{"consumer":1,"stream":1}`, auth.Action{Kind: auth.Ack, Stream: "S", Consumer: "c"}},
		{auth.Ack, "POST", "/v1/data/stream/S/consumer/c/progress", `{"consumer":1,"stream":1}`, auth.Action{Kind: auth.Ack, Stream: "S", Consumer: "c"}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			t.Parallel()
			authz := &recordingAuthz{deny: c.kind}
			env, srv := newDataplane(t, "http1", dataplane.Options{Gate: &auth.Gate{Authz: authz}})
			createStream(t, env.Bridge, "S", "s")
			createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c"})
			a := srv.do(t, c.method, c.path, []byte(c.body), nil)
			assert.Equal(t, http.StatusForbidden, a.Status)
			assert.Equal(t, protocol.CodeForbidden, a.code())
			authz.mu.Lock()
			defer authz.mu.Unlock()
			require.Len(t, authz.seen, 1)
			assert.Equal(t, c.want, authz.seen[0])
		})
	}
}
