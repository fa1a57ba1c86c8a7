package admin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

// badRequest is a 400 bad_request whose detail says what to fix.
func badRequest(format string, args ...any) error {
	return httpx.NewError(protocol.CodeBadRequest, "invalid request", fmt.Sprintf(format, args...))
}

// required fails when a required field is missing.
func required(field, value string) error {
	if value == "" {
		return badRequest("%s is required", field)
	}
	return nil
}

// oneOf fails when value (if set) is not one of allowed.
func oneOf(field, value string, allowed ...string) error {
	if value != "" && !slices.Contains(allowed, value) {
		return badRequest("%s %q is not one of %s", field, value, strings.Join(allowed, ", "))
	}
	return nil
}

// validName checks a stream, consumer or group name (JetStream's rules).
func validName(field, name string) error {
	if err := required(field, name); err != nil {
		return err
	}
	if err := bridge.ValidateName(name); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// validSubjects checks subjects, which may use wildcards.
func validSubjects(field string, subjects []string) error {
	for _, s := range subjects {
		if err := bridge.ValidateSubject(s, true); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	return nil
}

// streamSubjects checks the subjects a stream is to capture: each is
// authorized (an AdminWrite naming it, so that authorization refuses
// reserved subjects with 403 reserved_subject), then must be a valid
// pattern covering no reserved subject (400 reserved_subject without
// authentication).
func (a *api) streamSubjects(r *http.Request, stream string, subjects []string) error {
	for _, s := range subjects {
		if err := a.gate.Check(r.Context(), auth.Action{Kind: auth.AdminWrite, Stream: stream, Subject: s}); err != nil {
			return err
		}
		if err := bridge.ValidateStreamSubject(s); err != nil {
			return fmt.Errorf("subjects: %w", err)
		}
	}
	return nil
}

// atLeast fails when v (if set) is below lo.
func atLeast[T int | int32 | int64](field string, v *T, lo T) error {
	if v != nil && *v < lo {
		return badRequest("%s must be at least %d, got %d", field, lo, *v)
	}
	return nil
}
