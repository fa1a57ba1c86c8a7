package bridge

import (
	"fmt"
	"strings"
	"unicode"
)

// ValidateName checks a stream or consumer name against JetStream's
// rules: 1 to 255 printable characters, none of whitespace, '.', '*',
// '>', '/', '\\'. So "test-stream_1" is valid.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidName)
	}
	if len(name) > 255 {
		return fmt.Errorf("%w: name longer than 255 bytes", ErrInvalidName)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(".*>/\\", r) {
			return fmt.Errorf("%w: %q may not contain %q", ErrInvalidName, name, r)
		}
	}
	return nil
}

// ValidateSubject checks a NATS subject. With wildcards, '*' may stand for
// one token and '>' for the last one or more; without, neither may appear
// (publish subjects).
func ValidateSubject(subject string, wildcards bool) error {
	if subject == "" {
		return fmt.Errorf("%w: subject is empty", ErrInvalidSubject)
	}
	if len(subject) > 4096 {
		return fmt.Errorf("%w: subject longer than 4096 bytes", ErrInvalidSubject)
	}
	for rest := subject; ; {
		tok, after, more := strings.Cut(rest, ".") // no allocation per subject: publishes run this
		rest = after
		if tok == "" {
			return fmt.Errorf("%w: %q has an empty token", ErrInvalidSubject, subject)
		}
		for _, r := range tok {
			if unicode.IsSpace(r) || !unicode.IsPrint(r) {
				return fmt.Errorf("%w: %q contains whitespace or a control character", ErrInvalidSubject, subject)
			}
		}
		switch {
		case tok == "*" || tok == ">":
			if !wildcards {
				return fmt.Errorf("%w: %q: wildcards are not allowed here", ErrInvalidSubject, subject)
			}
			if tok == ">" && more {
				return fmt.Errorf("%w: %q: '>' must be the last token", ErrInvalidSubject, subject)
			}
		case strings.ContainsAny(tok, "*>"):
			// "a*b" is a literal token in NATS; JetStream refuses it in
			// stream subjects and it confuses everyone, so we do too.
			return fmt.Errorf("%w: %q: '*' and '>' must be whole tokens", ErrInvalidSubject, subject)
		}
		if !more {
			return nil
		}
	}
}

// SubjectMatches reports whether subject (which may itself hold
// wildcards) is covered by pattern under NATS wildcard rules.
func SubjectMatches(pattern, subject string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		if p == "*" {
			if st[i] == ">" {
				return false
			}
			continue
		}
		if p != st[i] {
			return false
		}
	}
	return len(pt) == len(st)
}
