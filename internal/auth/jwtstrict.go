package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
)

// numericClaims are the registered claims that must be JSON numbers
// (RFC 7519 §2 NumericDate): golang-jwt would also take "exp":"123".
var numericClaims = []string{"exp", "nbf", "iat"}

// errMalformedJSON marks a token whose header or claims are not one JSON
// object.
var errMalformedJSON = errors.New("malformed token")

// checkTokenJSON applies what golang-jwt and encoding/json leave out to
// tok's header and claims, before the signature is checked:
//
//   - no member name appears twice in any object, comparing names as
//     encoding/json matches them to struct fields (case-insensitively,
//     after unescaping), so {"exp":1,"EXP":2} cannot pick its value;
//   - exp, nbf and iat are JSON numbers;
//   - the header has no "crit" (RFC 7515 §4.1.11): httpmq understands no
//     extension, so a token that requires one must be refused.
func checkTokenJSON(tok string) error {
	parts := strings.SplitN(tok, ".", 3)
	if len(parts) != 3 {
		return nil // golang-jwt reports it
	}
	for i, what := range []string{"header", "claims"} {
		seg, err := base64.RawURLEncoding.DecodeString(parts[i]) // as golang-jwt decodes
		if err != nil {
			return fmt.Errorf("%w: token %s is not base64url", errMalformedJSON, what)
		}
		numeric := numericClaims
		if i == 0 {
			numeric = nil
		}
		top, err := checkObject(seg, numeric)
		if err != nil {
			return fmt.Errorf("token %s: %w", what, err)
		}
		if i == 0 && slices.Contains(top, "crit") {
			return errors.New(`token header has "crit": it requires extensions httpmq does not implement`)
		}
	}
	return nil
}

// checkObject checks that b is exactly one JSON object without duplicate
// member names at any depth, whose top-level members named in numeric are
// numbers, and returns its top-level member names.
func checkObject(b []byte, numeric []string) (top []string, err error) {
	type level struct {
		object  bool
		names   map[string]bool // folded names seen (objects)
		haveKey bool            // the next token is the value of key
		key     string
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*level
	values := 0 // top-level values seen
	for {
		t, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformedJSON, err)
		}
		if d, ok := t.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && !stack[n-1].haveKey {
			cur := stack[n-1]
			name := t.(string) // a member name: the decoder checks the syntax
			f := fold(name)
			if cur.names[f] {
				return nil, fmt.Errorf("duplicate member %q", short(name))
			}
			cur.names[f] = true
			cur.haveKey, cur.key = true, name
			if n == 1 {
				top = append(top, name)
			}
			continue
		}
		// t is a value.
		switch n := len(stack); {
		case n == 0:
			if values++; values > 1 || t != json.Delim('{') {
				return nil, fmt.Errorf("%w: not one JSON object", errMalformedJSON)
			}
		case stack[n-1].object:
			if _, num := t.(json.Number); n == 1 && !num && slices.Contains(numeric, stack[0].key) {
				return nil, fmt.Errorf("claim %s must be a JSON number", stack[0].key)
			}
			stack[n-1].haveKey = false
		}
		if d, ok := t.(json.Delim); ok {
			stack = append(stack, &level{object: d == '{', names: map[string]bool{}})
		}
	}
	return top, nil
}

// short bounds a name quoted in an error message.
func short(name string) string {
	if len(name) > 32 {
		return name[:32] + "…"
	}
	return name
}

// fold maps s to one representative of the names encoding/json would
// match with it: each rune becomes the least of its simple case folding
// orbit (so "SUB", "sub" and "ſub" fold alike, as bytes.EqualFold says).
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}
