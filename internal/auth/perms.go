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
// Subscribe holds "stream/consumer" pairs where either side may be `*`.
// Subscribing to a consumer also allows acknowledging its messages.
// Admin rights and dataplane rights are independent.
type Permissions struct {
	Admin     AdminLevel `json:"admin,omitempty"`
	Publish   []string   `json:"publish,omitempty"`
	Subscribe []string   `json:"subscribe,omitempty"`
}

// Validate checks the patterns' shapes.
func (p Permissions) Validate() error {
	for _, s := range p.Publish {
		if s == "" || strings.ContainsAny(s, " \t\r\n") || strings.Contains(s, "..") ||
			strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
			return fmt.Errorf("publish pattern %q is not a NATS subject pattern", s)
		}
	}
	for _, s := range p.Subscribe {
		st, co, ok := strings.Cut(s, "/")
		if !ok || st == "" || co == "" || strings.Contains(co, "/") {
			return fmt.Errorf("subscribe pattern %q is not stream/consumer", s)
		}
	}
	return nil
}

// Allows reports whether p permits a.
func (p Permissions) Allows(a Action) bool {
	switch a.Kind {
	case AdminRead:
		return p.Admin == AdminReadOnly || p.Admin == AdminFull
	case AdminWrite:
		return p.Admin == AdminFull
	case Publish:
		return slices.ContainsFunc(p.Publish, func(pat string) bool { return bridge.SubjectMatches(pat, a.Subject) })
	case Subscribe, Ack:
		return slices.ContainsFunc(p.Subscribe, func(pat string) bool {
			st, co, _ := strings.Cut(pat, "/")
			return (st == "*" || st == a.Stream) && (co == "*" || co == a.Consumer)
		})
	}
	return false
}

// ParsePermissions reads the compact form used for API keys in the
// config file: space-separated admin=LEVEL, publish=P1,P2 and
// subscribe=S/C,S2/* items, each optional; or the JSON form of
// [Permissions].
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
		default:
			err = fmt.Errorf("unknown key %q (want admin, publish or subscribe)", k)
		}
		if err != nil {
			return p, fmt.Errorf("permissions: %w", err)
		}
	}
	return p, p.Validate()
}

// Policy authorizes from the identity's [Permissions] and refuses
// expired credentials. It is the [Authorizer] httpmq uses whenever
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
	if who.Perms.Allows(what) {
		return nil
	}
	return fmt.Errorf("%w: %q may not %s", ErrForbidden, who.Subject, what)
}
