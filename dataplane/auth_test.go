package dataplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// TestSubscriptionEndsAtExpiry: a subscription stream opened with a JWT
// delivers until the token's exp, then ends with a final unauthorized
// "credentials expired" line (NDJSON) or error event (SSE).
func TestSubscriptionEndsAtExpiry(t *testing.T) {
	secret := []byte("dataplane-test-secret-dataplane-test-secret")
	j, err := auth.NewJWT(auth.JWTConfig{Secret: secret})
	require.NoError(t, err)
	gate := &auth.Gate{Authn: &auth.Tokens{JWT: j}, Authz: auth.Policy{}}
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second) // exp has whole seconds
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "worker", ExpiresAt: jwt.NewNumericDate(exp)},
		Httpmq:           auth.Permissions{Subscribe: []string{"S/c"}},
	}).SignedString(secret)
	require.NoError(t, err)

	for _, c := range []struct {
		name, proto, accept string
	}{
		{"ndjson", "h2-tls", ""},
		{"sse", "http1", "text/event-stream"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env, srv := newDataplane(t, c.proto, dataplane.Options{Gate: gate})
			createStream(t, env.Bridge, "S", "s")
			createConsumer(t, env.Bridge, "S", bridge.ConsumerConfig{Name: "c", Push: true})
			h := http.Header{"Authorization": {"Bearer " + tok}}
			if c.accept != "" {
				h.Set("Accept", c.accept)
			}
			sub := srv.subscribe(t, "/v1/data/stream/S/consumer/c", h)
			publishN(t, env.Bridge, "s", 1)

			var final answer
			if c.accept == "" {
				assert.Equal(t, []byte("m0"), sub.next(t).B64Msg, "delivered before expiry")
				final = sub.final(t)
			} else {
				event, data := sseEvent(t, sub)
				require.Equal(t, "msg", event, data)
				event, data = sseEvent(t, sub)
				require.Equal(t, "error", event, data)
				require.NoError(t, json.Unmarshal([]byte(data), &final), data)
				_, open := <-sub.lines
				require.False(t, open, "the stream ends after the error event")
			}
			require.False(t, time.Now().Before(exp), "ended at expiry, not before")
			require.NotNil(t, final.Error)
			assert.Equal(t, protocol.CodeUnauthorized, final.Error.Code)
			assert.Equal(t, "credentials expired", final.Error.Message)
			assert.Equal(t, 0, srv.Handler.ActiveSubscriptions())
		})
	}
}

// sseEvent reads the next SSE event (heartbeat comments skipped) and
// returns its name and data.
func sseEvent(t *testing.T, sub *subscription) (event, data string) {
	t.Helper()
	for data == "" {
		l := strings.TrimSuffix(string(sub.line(t)), "\n")
		if v, ok := strings.CutPrefix(l, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(l, "data: "); ok {
			data = v
		}
	}
	return event, data
}
