package bridge

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Reserved subjects and headers: what clients of httpmq may never touch,
// written down once. The admin API, the dataplane, the sessions and the
// authorization policy all ask the functions below; docs/security.md
// ("Reserved subjects and headers") explains them to users.
var (
	// ErrReservedSubject: the subject, or a subject a pattern covers, belongs to NATS,
	// JetStream or httpmq itself ([Reserved]).
	ErrReservedSubject = errors.New("subject is reserved")
	// ErrReservedHeader: a Nats-* message header that JetStream reads as
	// a command and that no permission may grant ([ReservedHeader]).
	ErrReservedHeader = errors.New("message header is reserved")
	// ErrInvalidHeader: a header value JetStream would misread.
	ErrInvalidHeader = errors.New("invalid message header")
)

// reservedTokens are the first tokens, besides those starting with '$',
// of subjects that NATS and httpmq use for themselves.
var reservedTokens = []string{
	"_INBOX",  // reply inboxes of NATS clients (nats.go's default prefix), JetStream API replies among them
	"_R_",     // nats-server: replies routed through service imports
	"_GR_",    // nats-server: replies routed through gateways
	"_httpmq", // httpmq: push-consumer deliveries (_httpmq.deliver.…)
}

// ReservedPrefixes lists the reserved subject space as prefixes: a
// subject starting with one of them is reserved. "$" covers JetStream's
// API and acknowledgements ($JS.API.…, $JS.ACK.…, $JSC.…), key-value and
// object stores ($KV.…, $O.…), the system account ($SYS.…), services
// ($SRV.…), MQTT ($MQTT.…), Raft ($NRG.…) and whatever NATS adds there.
func ReservedPrefixes() []string {
	out := []string{"$"}
	for _, t := range reservedTokens {
		out = append(out, t+".")
	}
	return out
}

// Reserved reports whether subject belongs to NATS, JetStream or httpmq:
// its first token starts with '$' or is one of _INBOX, _R_, _GR_ and
// _httpmq. Clients may not publish there, whatever their permissions, and
// streams may not capture it ([OverlapsReserved]).
func Reserved(subject string) bool {
	first, _, _ := strings.Cut(subject, ".")
	return strings.HasPrefix(first, "$") || slices.Contains(reservedTokens, first)
}

// OverlapsReserved reports whether the subject pattern covers some
// reserved subject: it is reserved itself, or its first token is a
// wildcard ("*", "*.x", ">" all match "$JS.API.…" or "$X").
func OverlapsReserved(pattern string) bool {
	first, _, _ := strings.Cut(pattern, ".")
	return first == "*" || first == ">" || Reserved(pattern)
}

// ValidatePublishSubject checks a subject a client publishes to: a valid
// subject without wildcards ([ErrInvalidSubject]) outside the reserved
// space ([ErrReservedSubject]).
//
// A reserved subject fails with [ErrReservedSubject] whatever its shape.
func ValidatePublishSubject(subject string) error {
	if Reserved(subject) {
		return fmt.Errorf("%w: %q belongs to NATS, JetStream or httpmq (subjects starting with %s)",
			ErrReservedSubject, subject, strings.Join(ReservedPrefixes(), ", "))
	}
	return ValidateSubject(subject, false)
}

// ValidateStreamSubject checks a subject pattern a stream captures: a
// valid subject, wildcards allowed ([ErrInvalidSubject]), that covers no
// reserved subject ([ErrReservedSubject]). JetStream itself refuses only
// patterns that collide with $JS., $JSC., $NRG. and $SYS. (and ">") unless
// the stream does not acknowledge publishes, which httpmq never asks for.
//
// A pattern overlapping the reserved space fails with
// [ErrReservedSubject] whatever its shape.
func ValidateStreamSubject(pattern string) error {
	if OverlapsReserved(pattern) {
		return fmt.Errorf("%w: a stream on %q would capture subjects of NATS, JetStream or httpmq (starting with %s); "+
			"begin the subject with a literal token of your own", ErrReservedSubject, pattern, strings.Join(ReservedPrefixes(), ", "))
	}
	return ValidateSubject(pattern, true)
}

// conditionalHeaders are JetStream's optimistic-concurrency headers in
// the spelling JetStream reads (it matches header names exactly). They
// only make a publish fail when a condition does not hold, and a client
// may send them when its permissions grant them (auth.Permissions); the
// values are sequences, or a stream name.
var conditionalHeaders = map[string]bool{ // name → value is a sequence
	"Nats-Expected-Stream":                false,
	"Nats-Expected-Last-Sequence":         true,
	"Nats-Expected-Last-Subject-Sequence": true,
}

// ConditionalHeaders lists the Nats-* headers a permission may grant:
// Nats-Expected-Stream (the subject must be captured by that stream),
// Nats-Expected-Last-Sequence (the stream's last sequence must be this)
// and Nats-Expected-Last-Subject-Sequence (the last sequence of the
// subject published to must be this; 0: none yet).
func ConditionalHeaders() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for h := range conditionalHeaders {
			if !yield(h) {
				return
			}
		}
	})
}

// ControlHeader reports whether name (in any case) is a Nats-* header:
// JetStream reads those as commands (roll-ups, TTLs, expectations, batches,
// schedules, counters, de-duplication ids...).
func ControlHeader(name string) bool {
	return len(name) >= 5 && strings.EqualFold(name[:5], "Nats-")
}

// ConditionalHeader returns the canonical spelling of name (in any case)
// when it is one of [ConditionalHeaders].
func ConditionalHeader(name string) (string, bool) {
	for h := range conditionalHeaders {
		if strings.EqualFold(h, name) {
			return h, true
		}
	}
	return "", false
}

// ReservedHeader reports whether name is a Nats-* header no permission
// may grant: every one but [ConditionalHeaders]. (The de-duplication id
// goes through [Message.MsgID], never as a header.)
func ReservedHeader(name string) bool {
	_, conditional := ConditionalHeader(name)
	return ControlHeader(name) && !conditional
}

// CheckReservedHeaders fails with [ErrReservedHeader] when h holds a
// [ReservedHeader].
func CheckReservedHeaders(h map[string][]string) error {
	for k := range h {
		if ReservedHeader(k) {
			return fmt.Errorf("%w: %s is a JetStream command; of the Nats-* headers only %s may be sent, when granted",
				ErrReservedHeader, k, strings.Join(ConditionalHeaders(), ", "))
		}
	}
	return nil
}

// ValidateMessage checks m's subject and headers as [Bridge.Publish]
// does, before its payload is at hand: [ErrInvalidSubject],
// [ErrReservedSubject], [ErrReservedHeader] or [ErrInvalidHeader].
func ValidateMessage(m Message) error {
	if err := ValidatePublishSubject(m.Subject); err != nil {
		return err
	}
	_, err := natsHeader(m.Header)
	return err
}

// natsHeader checks h against the header rules and returns it as NATS
// should see it: reserved headers are refused ([ErrReservedHeader]);
// conditional ones get JetStream's spelling and must carry one valid
// value ([ErrInvalidHeader]). Whether the client may send them at all is
// the authorizer's business.
func natsHeader(h map[string][]string) (map[string][]string, error) {
	if err := CheckReservedHeaders(h); err != nil {
		return nil, err
	}
	var out map[string][]string
	for k, vs := range h {
		name, ok := ConditionalHeader(k)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string][]string, len(h))
		}
		if len(vs) != 1 || len(out[name]) > 0 {
			return nil, fmt.Errorf("%w: %s needs exactly one value", ErrInvalidHeader, name)
		}
		if _, err := strconv.ParseUint(vs[0], 10, 64); conditionalHeaders[name] && err != nil {
			return nil, fmt.Errorf("%w: %s must be a sequence number, got %q", ErrInvalidHeader, name, vs[0])
		}
		out[name] = vs
	}
	if out == nil {
		return h, nil
	}
	for k, vs := range h {
		if !ControlHeader(k) {
			out[k] = vs
		}
	}
	return out, nil
}
