package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/httpmq/httpmq/bridge"
)

// AdminLevel is what an identity may do on the management API.
type AdminLevel string

// The admin levels. The zero value is [AdminNone].
const (
	AdminNone     AdminLevel = "none" // no management API at all
	AdminReadOnly AdminLevel = "read" // inspect streams, consumers, messages
	AdminFull     AdminLevel = "full" // also define, change, delete, purge
)

// UnmarshalText refuses unknown levels, so a typo in a token or config
// grants nothing instead of being silently ignored.
func (l *AdminLevel) UnmarshalText(b []byte) error {
	switch v := AdminLevel(b); v {
	case "", AdminNone, AdminReadOnly, AdminFull:
		*l = v
		return nil
	}
	return fmt.Errorf("admin level %q is not none, read or full", b)
}

// Permissions is what an identity may do. It is the "httpmq" claim of a
// JWT and the permission part of an API key:
//
//	{"admin": "read", "publish": ["orders.*"], "subscribe": ["ORDERS/worker", "AUDIT/*"]}
//
// Publish holds NATS subject patterns (`*` one token, `>` the rest);
// Subscribe holds "stream/consumer" pairs where either side may be `*`;
// Listen holds the subject patterns an identity may subscribe to live,
// without a consumer (`"listen": ["prices.>"]` allows prices.eur and
// prices.*, not >). Subscribing to a consumer also allows acknowledging
// its messages.
// Admin rights and dataplane rights are independent.
//
// Whatever the permissions, reserved subjects ([bridge.Reserved]) are
// never published to, streams never capture them, and of JetStream's
// Nats-* message headers only those of PublishHeaders, a subset of
// [bridge.ConditionalHeaders], may be sent.
type Permissions struct {
	Admin     AdminLevel `json:"admin,omitempty"`
	Publish   []string   `json:"publish,omitempty"`
	Subscribe []string   `json:"subscribe,omitempty"`
	Listen    []string   `json:"listen,omitempty"`
	// PublishHeaders grants JetStream's optimistic-concurrency headers
	// (Nats-Expected-Stream, Nats-Expected-Last-Sequence,
	// Nats-Expected-Last-Subject-Sequence) on publishes; names in any case.
	PublishHeaders []string `json:"publish_headers,omitempty"`
}

// Validate checks the patterns' shapes, and that each could grant
// something: a publish pattern inside the reserved subjects, or a header
// that is not a conditional one, is an error rather than nothing granted.
func (p Permissions) Validate() error {
	for _, s := range p.Publish {
		if s == "" || strings.ContainsAny(s, " \t\r\n") || strings.Contains(s, "..") ||
			strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
			return fmt.Errorf("publish pattern %q is not a NATS subject pattern", s)
		}
		if bridge.Reserved(s) {
			return fmt.Errorf("publish pattern %q is in the reserved subjects (%s), which no permission grants",
				s, strings.Join(bridge.ReservedPrefixes(), ", "))
		}
	}
	for _, h := range p.PublishHeaders {
		if _, ok := bridge.ConditionalHeader(h); !ok {
			return fmt.Errorf("publish header %q is not one of %s", h, strings.Join(bridge.ConditionalHeaders(), ", "))
		}
	}
	for _, s := range p.Subscribe {
		st, co, ok := strings.Cut(s, "/")
		if !ok || st == "" || co == "" || strings.Contains(co, "/") {
			return fmt.Errorf("subscribe pattern %q is not stream/consumer", s)
		}
	}
	for _, s := range p.Listen {
		if bridge.ValidateSubject(s, true) != nil {
			return fmt.Errorf("listen pattern %q is not a NATS subject pattern", s)
		}
		if bridge.Reserved(s) {
			return fmt.Errorf("listen pattern %q is in the reserved subjects (%s), which no permission grants",
				s, strings.Join(bridge.ReservedPrefixes(), ", "))
		}
	}
	return nil
}

// Allows reports whether p permits a.
func (p Permissions) Allows(a Action) bool {
	if reserved(a) != nil {
		return false
	}
	switch a.Kind {
	case AdminRead:
		return p.Admin == AdminReadOnly || p.Admin == AdminFull
	case AdminWrite:
		return p.Admin == AdminFull
	case Publish:
		for name := range a.Header {
			if h, ok := bridge.ConditionalHeader(name); ok &&
				!slices.ContainsFunc(p.PublishHeaders, func(g string) bool { return strings.EqualFold(g, h) }) {
				return false
			}
		}
		return slices.ContainsFunc(p.Publish, func(pat string) bool { return bridge.SubjectMatches(pat, a.Subject) })
	case Subscribe, Ack:
		return slices.ContainsFunc(p.Subscribe, func(pat string) bool {
			st, co, _ := strings.Cut(pat, "/")
			return (st == "*" || st == a.Stream) && (co == "*" || co == a.Consumer)
		})
	case Listen:
		return slices.ContainsFunc(p.Listen, func(pat string) bool { return bridge.SubjectMatches(pat, a.Subject) })
	}
	return false
}

// reserved says why a can never be allowed, whatever the permissions:
// it publishes to a reserved subject or with a reserved header, or
// defines a stream overlapping the reserved subjects. Nil otherwise.
func reserved(a Action) error {
	switch a.Kind {
	case Publish:
		if bridge.Reserved(a.Subject) {
			return bridge.ValidatePublishSubject(a.Subject)
		}
		return bridge.CheckReservedHeaders(a.Header)
	case Listen:
		if bridge.Reserved(a.Subject) {
			return fmt.Errorf("%w: %s", bridge.ErrReservedSubject, a.Subject)
		}
	case AdminWrite:
		if a.Subject != "" && bridge.OverlapsReserved(a.Subject) {
			return bridge.ValidateStreamSubject(a.Subject)
		}
	}
	return nil
}

// ParsePermissions reads the compact form used for API keys in the
// config file: space-separated admin=LEVEL, publish=P1,P2,
// subscribe=S/C,S2/*, listen=P1,P2 and publish_headers=H1,H2 items, each
// optional; or
// the JSON form of [Permissions].
func ParsePermissions(s string) (Permissions, error) {
	var p Permissions
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("permissions: %w", err)
		}
		return p, p.Validate()
	}
	for item := range strings.FieldsSeq(s) {
		k, v, ok := strings.Cut(item, "=")
		if !ok || v == "" {
			return p, fmt.Errorf("permissions: %q is not key=value", item)
		}
		var err error
		switch k {
		case "admin":
			err = p.Admin.UnmarshalText([]byte(v))
		case "publish":
			p.Publish = append(p.Publish, strings.Split(v, ",")...)
		case "subscribe":
			p.Subscribe = append(p.Subscribe, strings.Split(v, ",")...)
		case "listen":
			p.Listen = append(p.Listen, strings.Split(v, ",")...)
		case "publish_headers":
			p.PublishHeaders = append(p.PublishHeaders, strings.Split(v, ",")...)
		default:
			err = fmt.Errorf("unknown key %q (want admin, publish, subscribe, listen or publish_headers)", k)
		}
		if err != nil {
			return p, fmt.Errorf("permissions: %w", err)
		}
	}
	return p, p.Validate()
}

// Policy authorizes from the identity's [Permissions] and refuses
// expired credentials. A refusal wraps [ErrForbidden], and also
// [bridge.ErrReservedSubject] or [bridge.ErrReservedHeader] when no
// permission could allow the action. It is the [Authorizer] httpmq uses whenever
// authentication is configured.
type Policy struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
}

var _ Authorizer = Policy{}

// Authorize implements [Authorizer].
func (p Policy) Authorize(_ context.Context, who Identity, what Action) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if who.Expired(now()) {
		return fmt.Errorf("%w: credentials expired", ErrUnauthenticated)
	}
	if err := reserved(what); err != nil {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	if who.Perms.Allows(what) {
		return nil
	}
	return fmt.Errorf("%w: %q may not %s", ErrForbidden, who.Subject, what)
}
