package protocol

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSONFrame decodes one JSON object into a new Frame in a single
// pass, without reflection. It accepts and refuses exactly what
// encoding/json's Unmarshal into a Frame did, decodes to the same frame,
// and reports the same first error (TestJSONDecodeMatchesLibrary and
// FuzzJSONDecodeMatchesLibrary hold it to the library):
//   - the whole input is checked first: a syntax error anywhere wins, at
//     the offset encoding/json's SyntaxError gives, and nothing is kept;
//   - otherwise a field of the wrong type is an error, but decoding goes
//     on, so the id and type of the frame are known for the reply;
//   - keys match their field exactly, or else case-insensitively
//     (bytes.EqualFold); of a key given twice the last value counts, and
//     two "headers" objects merge; null leaves a field as it was, except
//     headers and data, which it empties;
//   - strings are unquoted as encoding/json does, invalid UTF-8 and lone
//     surrogates becoming U+FFFD; "data" is padded standard base64 (or an
//     array of numbers up to 255, as the library allows);
//   - containers nest at most 10,000 deep, unknown keys included.
//
// b must start, after JSON whitespace, with '{'.
func decodeJSONFrame(b []byte) (*Frame, error) {
	r := jsonReader{b: b}
	f := new(Frame)
	r.space()
	if r.object(f) {
		r.space()
		if r.pos < len(b) {
			r.fail()
		}
	}
	if r.syntax {
		return nil, &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed,
			Err: fmt.Errorf("invalid JSON at offset %d", r.offset)}
	}
	if r.err != nil {
		return nil, &DecodeError{Codec: SubprotocolJSON, Kind: ErrMalformed, ID: f.ID, Type: f.Type, Err: r.err}
	}
	if err := checkType(SubprotocolJSON, f); err != nil {
		return nil, err
	}
	return f, nil
}

// maxJSONDepth is encoding/json's limit on nested objects and arrays.
const maxJSONDepth = 10000

// jsonReader reads JSON from b. Its methods return false once the input
// has a syntax error (recorded in syntax and offset); a value of the wrong
// type is recorded in err, the first one only, and skipped.
type jsonReader struct {
	b      []byte
	pos    int
	depth  int
	syntax bool
	offset int    // of the syntax error, as encoding/json counts it
	key    []byte // the name of the Frame field being decoded, for type errors
	err    error  // the first type or base64 error
}

// fail records a syntax error at the current byte: encoding/json's
// offset is the count of bytes read, the bad one included, or the
// input's length at its end.
func (r *jsonReader) fail() bool {
	if !r.syntax {
		r.syntax = true
		r.offset = min(r.pos+1, len(r.b))
	}
	return false
}

// mismatch records that the value at pos cannot go into a field of the
// given kind (named as the protocol documentation names it), and skips
// the value.
func (r *jsonReader) mismatch(kind string) bool {
	value := "number"
	switch r.b[r.pos] {
	case '"':
		value = "string"
	case '{':
		value = "object"
	case '[':
		value = "array"
	case 't', 'f':
		value = "bool"
	}
	r.typeError(value, kind)
	return r.skip()
}

func (r *jsonReader) typeError(value, kind string) {
	if r.err == nil {
		r.err = fmt.Errorf("field %q: %s is not a valid %s", r.key, value, kind)
	}
}

func (r *jsonReader) space() {
	for r.pos < len(r.b) {
		switch r.b[r.pos] {
		case ' ', '\t', '\r', '\n':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the byte at pos, or 0 at the end.
func (r *jsonReader) peek() byte {
	if r.pos < len(r.b) {
		return r.b[r.pos]
	}
	return 0
}

// next consumes the byte c, after whitespace.
func (r *jsonReader) next(c byte) bool {
	r.space()
	if r.peek() != c {
		return r.fail()
	}
	r.pos++
	return true
}

// open consumes the '{' or '[' at pos, one level deeper, and reports
// whether the container ends at once (its close, consumed, next).
func (r *jsonReader) open(close byte) (empty, ok bool) {
	r.depth++
	if r.depth > maxJSONDepth {
		return false, r.fail()
	}
	r.pos++
	r.space()
	if r.peek() == close {
		r.pos++
		r.depth--
		return true, true
	}
	return false, true
}

// more reports, after a member or element, whether another follows (a
// comma, consumed) or the container ends (close, consumed).
func (r *jsonReader) more(close byte) (more, ok bool) {
	r.space()
	switch r.peek() {
	case ',':
		r.pos++
		r.space()
		return true, true
	case close:
		r.pos++
		r.depth--
		return false, true
	}
	return false, r.fail()
}

// members reads the object whose '{' is at pos, calling member with each
// key (unquoted; it may alias the input) once the value is next.
func (r *jsonReader) members(member func(key []byte) bool) bool {
	if empty, ok := r.open('}'); empty || !ok {
		return ok
	}
	for {
		key, ok := r.memberKey()
		if !ok || !member(key) {
			return false
		}
		more, ok := r.more('}')
		if !more {
			return ok
		}
	}
}

// elements reads the array whose '[' is at pos, calling element for each
// element, which is next.
func (r *jsonReader) elements(element func() bool) bool {
	if empty, ok := r.open(']'); empty || !ok {
		return ok
	}
	for {
		if !element() {
			return false
		}
		more, ok := r.more(']')
		if !more {
			return ok
		}
	}
}

// object reads the frame.
func (r *jsonReader) object(f *Frame) bool {
	return r.members(func(key []byte) bool {
		return r.frameField(f, key)
	})
}

// frameField reads the value of key into f. A key that is not a field's
// name is looked up again without case, as encoding/json does.
func (r *jsonReader) frameField(f *Frame, key []byte) bool {
	r.key = key
	switch string(key) { // does not allocate
	case "type":
		return r.frameType(&f.Type)
	case "id":
		return r.str(&f.ID)
	case "sub":
		return r.str(&f.Sub)
	case "version":
		return r.int(&f.Version)
	case "session":
		return r.str(&f.Session)
	case "max_frame":
		return r.int(&f.MaxFrame)
	case "max_subs":
		return r.int(&f.MaxSubs)
	case "heartbeat":
		return r.duration(&f.Heartbeat)
	case "token":
		return r.str(&f.Token)
	case "subject":
		return r.str(&f.Subject)
	case "stream":
		return r.str(&f.Stream)
	case "consumer":
		return r.str(&f.Consumer)
	case "filter":
		return r.str(&f.Filter)
	case "group":
		return r.str(&f.Group)
	case "max_inflight":
		return r.int(&f.MaxInflight)
	case "from_seq":
		return r.uint64(&f.FromSeq)
	case "since":
		return r.int64(&f.Since)
	case "last":
		return r.int(&f.Last)
	case "recovered":
		return r.bool(&f.Recovered)
	case "stream_seq":
		return r.uint64(&f.StreamSeq)
	case "consumer_seq":
		return r.uint64(&f.ConsumerSeq)
	case "deliveries":
		return r.uint64(&f.Deliveries)
	case "pending":
		return r.uint64(&f.Pending)
	case "time":
		return r.int64(&f.Time)
	case "delay":
		return r.duration(&f.Delay)
	case "msg_id":
		return r.str(&f.MsgID)
	case "seq":
		return r.uint64(&f.Seq)
	case "duplicate":
		return r.bool(&f.Duplicate)
	case "code":
		return r.int(&f.Status)
	case "reason":
		return r.str(&f.Reason)
	case "message":
		return r.str(&f.Message)
	case "detail":
		return r.str(&f.Detail)
	case "retryable":
		return r.bool(&f.Retryable)
	case "retry_after":
		return r.duration(&f.RetryAfter)
	case "headers":
		return r.header(&f.Headers)
	case "data":
		return r.data(&f.Data)
	}
	if name := foldedName(key, jsonFieldNames); name != nil {
		return r.frameField(f, name)
	}
	return r.skip()
}

// foldedName returns the one of names that key equals but for case
// (bytes.EqualFold, as encoding/json matches keys), or nil.
func foldedName(key []byte, names [][]byte) []byte {
	for _, name := range names {
		if bytes.EqualFold(key, name) {
			return name
		}
	}
	return nil
}

// jsonFieldNames are Frame's keys, in field order.
var jsonFieldNames = func() [][]byte {
	names := make([][]byte, len(frameSchema.fields))
	for i, fd := range frameSchema.fields {
		names[i] = []byte(fd.name)
	}
	return names
}()

// str reads a string into s; null leaves s as it was.
func (r *jsonReader) str(s *string) bool {
	switch r.peek() {
	case '"':
		p, ok := r.quoted()
		if ok {
			*s = string(p)
		}
		return ok
	case 'n':
		return r.literal("null")
	}
	return r.other("string")
}

// frameType reads a string as a frame type, without allocating for the
// known ones.
func (r *jsonReader) frameType(t *FrameType) bool {
	if r.peek() != '"' {
		var s string
		ok := r.str(&s)
		return ok
	}
	p, ok := r.quoted()
	if !ok {
		return false
	}
	for _, known := range knownTypes {
		if string(known) == string(p) {
			*t = known
			return true
		}
	}
	*t = FrameType(p)
	return true
}

// other reads a value that is not the string, number or null a field of
// kind wants: true or false go to bool (when kind is "boolean"), and
// anything else is a type error.
func (r *jsonReader) other(kind string) bool {
	switch r.peek() {
	case '"', '{', '[', 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return r.mismatch(kind)
	}
	return r.fail()
}

// number reads a number and returns its bytes, for a field of kind:
// anything else but null (nil, true) is a type error.
func (r *jsonReader) number(kind string) (num []byte, ok bool) {
	switch c := r.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		return r.numberBytes()
	case c == 'n':
		return nil, r.literal("null")
	}
	return nil, r.other(kind)
}

// integer reads a number, or null (set false), as strconv parses a
// signed or unsigned integer of the given bits: a number it refuses is a
// type error, as encoding/json reports it.
func (r *jsonReader) integer(kind string, signed bool, bits int) (v uint64, set, ok bool) {
	num, ok := r.number(kind)
	if !ok || num == nil {
		return 0, false, ok
	}
	var err error
	if signed {
		var n int64
		n, err = strconv.ParseInt(string(num), 10, bits)
		v = uint64(n)
	} else {
		v, err = strconv.ParseUint(string(num), 10, bits)
	}
	if err != nil {
		r.typeError("number "+string(num), kind)
		return 0, false, true
	}
	return v, true, true
}

func (r *jsonReader) int64(v *int64) bool {
	n, set, ok := r.integer("integer", true, 64)
	if set {
		*v = int64(n)
	}
	return ok
}

func (r *jsonReader) int(v *int) bool {
	n := int64(*v)
	ok := r.int64(&n)
	*v = int(n)
	return ok
}

func (r *jsonReader) duration(v *time.Duration) bool {
	n := int64(*v)
	ok := r.int64(&n)
	*v = time.Duration(n)
	return ok
}

func (r *jsonReader) uint64(v *uint64) bool {
	n, set, ok := r.integer("unsigned integer", false, 64)
	if set {
		*v = n
	}
	return ok
}

func (r *jsonReader) bool(v *bool) bool {
	switch r.peek() {
	case 't':
		*v = true
		return r.literal("true")
	case 'f':
		*v = false
		return r.literal("false")
	case 'n':
		return r.literal("null")
	}
	return r.other("boolean")
}

// header reads an object of string arrays into h, merging with what h
// holds; null empties h.
func (r *jsonReader) header(h *Header) bool {
	switch r.peek() {
	case '{':
	case 'n':
		*h = nil
		return r.literal("null")
	default:
		return r.other("object")
	}
	if *h == nil {
		*h = Header{}
	}
	return r.members(func(key []byte) bool {
		k := string(key)
		var vals []string
		ok := r.headerValues(&vals)
		(*h)[k] = vals // as encoding/json does, even after a type error
		return ok
	})
}

// headerValues reads an array of strings (null elements are "").
func (r *jsonReader) headerValues(vals *[]string) bool {
	switch r.peek() {
	case '[':
	case 'n':
		return r.literal("null")
	default:
		return r.other("array")
	}
	*vals = []string{}
	return r.elements(func() bool {
		var s string
		ok := r.str(&s)
		*vals = append(*vals, s)
		return ok
	})
}

// data reads padded standard base64 into p, or, as encoding/json allows
// for a []byte, an array of numbers into p's elements; null empties p.
func (r *jsonReader) data(p *[]byte) bool {
	switch r.peek() {
	case '"':
		s, ok := r.quoted()
		if !ok {
			return false
		}
		d := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(d, s)
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			return true
		}
		*p = d[:n]
		return true
	case '[':
		return r.byteArray(p)
	case 'n':
		*p = nil
		return r.literal("null")
	}
	return r.other("base64 string")
}

// byteArray decodes an array of numbers into p as encoding/json decodes
// into a []byte: in place, over what p held (a null element keeps the
// byte that was there), then cut to the array's length.
func (r *jsonReader) byteArray(p *[]byte) bool {
	d := *p
	i := 0
	ok := r.elements(func() bool {
		if i >= cap(d) {
			d = slices.Grow(d, 1)
		}
		if i >= len(d) {
			d = d[:i+1]
		}
		n, set, ok := r.integer("uint8", false, 8)
		if set {
			d[i] = byte(n)
		}
		i++
		return ok
	})
	if i < len(d) {
		d = d[:i]
	}
	if i == 0 {
		d = []byte{}
	}
	*p = d
	return ok
}

// literal consumes the literal word (true, false or null) at pos.
func (r *jsonReader) literal(word string) bool {
	for i := range len(word) {
		if r.peek() != word[i] {
			return r.fail()
		}
		r.pos++
	}
	return true
}

// numberBytes consumes a number and returns its bytes.
func (r *jsonReader) numberBytes() ([]byte, bool) {
	start := r.pos
	if r.peek() == '-' {
		r.pos++
	}
	switch c := r.peek(); {
	case c == '0':
		r.pos++
	case '1' <= c && c <= '9':
		r.digits()
	default:
		return nil, r.fail()
	}
	if r.peek() == '.' {
		r.pos++
		if !isDigit(r.peek()) {
			return nil, r.fail()
		}
		r.digits()
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.pos++
		if c := r.peek(); c == '+' || c == '-' {
			r.pos++
		}
		if !isDigit(r.peek()) {
			return nil, r.fail()
		}
		r.digits()
	}
	return r.b[start:r.pos], true
}

func (r *jsonReader) digits() {
	for r.pos < len(r.b) && isDigit(r.b[r.pos]) {
		r.pos++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// quoted consumes the string at pos and returns it unquoted. Without
// escapes or invalid UTF-8 it aliases the input.
func (r *jsonReader) quoted() ([]byte, bool) {
	r.pos++ // '"'
	start := r.pos
	for r.pos < len(r.b) {
		c := r.b[r.pos]
		if c == '"' {
			r.pos++
			return r.b[start : r.pos-1], true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		r.pos++
	}
	// The slow way: check the rest, then unquote all of it.
	for {
		if r.pos >= len(r.b) {
			return nil, r.fail()
		}
		c := r.b[r.pos]
		switch {
		case c == '"':
			r.pos++
			return unquote(r.b[start : r.pos-1]), true
		case c < ' ':
			return nil, r.fail()
		case c == '\\':
			r.pos++
			switch r.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.pos++
			case 'u':
				r.pos++
				for range 4 {
					if !isHex(r.peek()) {
						return nil, r.fail()
					}
					r.pos++
				}
			default:
				return nil, r.fail()
			}
		default:
			r.pos++
		}
	}
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unquote decodes the escapes of a string's checked contents, turning
// invalid UTF-8 and unpaired surrogates into U+FFFD as encoding/json does.
func unquote(s []byte) []byte {
	out := make([]byte, 0, len(s)+utf8.UTFMax)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			e := s[i+1]
			i += 2
			switch e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := hex4(s[i:])
				i += 4
				if utf16.IsSurrogate(rr) {
					// A pair makes one rune; anything else is U+FFFD.
					next := rune(-1)
					if len(s) >= i+6 && s[i] == '\\' && s[i+1] == 'u' {
						next = hex4(s[i+2:])
					}
					if rr = utf16.DecodeRune(rr, next); rr != unicode.ReplacementChar {
						i += 6
					}
				}
				out = utf8.AppendRune(out, rr)
			default: // '"', '\\', '/'
				out = append(out, e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			rr, size := utf8.DecodeRune(s[i:])
			out = utf8.AppendRune(out, rr) // RuneError for an invalid byte
			i += size
		}
	}
	return out
}

// hex4 returns the rune of four checked hex digits.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skip consumes any value, checking its syntax. It loops instead of
// recursing, keeping the containers it is in on a byte stack: a value
// nested 10,000 deep (a 20 KB frame) costs 10 KB of heap, not megabytes
// of goroutine stack, as encoding/json's scanner keeps its state.
func (r *jsonReader) skip() bool {
	var inline [32]byte
	open := inline[:0] // '{' or '[' of each container entered
	for {
		// A value is next.
		switch c := r.peek(); {
		case c == '{' || c == '[':
			empty, ok := r.open(closer(c))
			if !ok {
				return false
			}
			if !empty {
				open = append(open, c)
				if c == '{' {
					if _, ok := r.memberKey(); !ok {
						return false
					}
				}
				continue
			}
		case c == '"':
			if _, ok := r.quoted(); !ok {
				return false
			}
		case c == 't':
			if !r.literal("true") {
				return false
			}
		case c == 'f':
			if !r.literal("false") {
				return false
			}
		case c == 'n':
			if !r.literal("null") {
				return false
			}
		case c == '-' || isDigit(c):
			if _, ok := r.numberBytes(); !ok {
				return false
			}
		default:
			return r.fail()
		}
		// A value ended: end the containers it completes, then go on
		// with the next member or element.
		for {
			if len(open) == 0 {
				return true
			}
			top := open[len(open)-1]
			more, ok := r.more(closer(top))
			if !ok {
				return false
			}
			if !more {
				open = open[:len(open)-1]
				continue
			}
			if top == '{' {
				if _, ok := r.memberKey(); !ok {
					return false
				}
			}
			break
		}
	}
}

// memberKey consumes an object member's key, unquoted (it may alias the
// input), and its colon; the value is next.
func (r *jsonReader) memberKey() ([]byte, bool) {
	if r.peek() != '"' {
		return nil, r.fail()
	}
	key, ok := r.quoted()
	if !ok || !r.next(':') {
		return nil, false
	}
	r.space()
	return key, true
}

// closer returns the byte that closes a container opened by c.
func closer(c byte) byte {
	if c == '[' {
		return ']'
	}
	return '}'
}
