package protocol

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// maxMsgpackDepth bounds the nesting of values, including those of
// unknown keys that the decoder skips.
const maxMsgpackDepth = 16

// wireKind is what a Frame field accepts on the msgpack wire.
type wireKind uint8

const (
	wireAny    wireKind = iota // unknown key: any well-formed value
	wireStr                    // str, valid UTF-8
	wireUint                   // integer >= 0
	wireInt                    // integer <= MaxInt64
	wireBool                   // bool
	wireBin                    // bin
	wireHeader                 // map of str to array of str
)

// checkMsgpackFrame verifies that b is exactly one msgpack map whose known
// keys hold values of the right kind, without allocating on success.
// After it, the msgpack library can decode b into a Frame without error,
// and every length it allocates for is backed by input bytes. On failure
// it also returns the frame's "id" and "type" if it got that far.
func checkMsgpackFrame(b []byte) (id string, typ FrameType, err error) {
	n, id, typ, err := checkMsgpackPrefix(b)
	if err == nil && n != len(b) {
		return "", "", fmt.Errorf("%d bytes of trailing data after the frame", len(b)-n)
	}
	return id, typ, err
}

// checkMsgpackPrefix is checkMsgpackFrame for the frame at the start of
// b, which may be followed by more: it returns the frame's length.
func checkMsgpackPrefix(b []byte) (size int, id string, typ FrameType, err error) {
	s := &mpScanner{b: b}
	if len(b) == 0 {
		return 0, "", "", errors.New("empty message")
	}
	if c := b[0]; !(c >= 0x80 && c <= 0x8f) && c != 0xde && c != 0xdf {
		return 0, "", "", errors.New("frame is not a msgpack map")
	}
	n, err := s.mapLen()
	if err != nil {
		return 0, "", "", err
	}
	var idb, typb []byte
	defer func() {
		if err != nil { // only then: success must not allocate
			id, typ = string(idb), FrameType(typb)
		}
	}()
	for range n {
		key, err := s.str()
		if err != nil {
			return 0, "", "", fmt.Errorf("frame key: %w", err)
		}
		kind := frameSchema.byName[string(key)] // wireAny when unknown
		start := s.pos
		if err := s.value(kind, 1); err != nil {
			return 0, "", "", fmt.Errorf("field %q: %w", key, err)
		}
		switch string(key) {
		case "id":
			idb = strBody(s.b[start:s.pos])
		case "type":
			typb = strBody(s.b[start:s.pos])
		}
	}
	return s.pos, "", "", nil
}

// strBody returns the bytes of an already checked str (or nil) value.
func strBody(v []byte) []byte {
	switch c := v[0]; {
	case c >= 0xa0 && c <= 0xbf:
		return v[1:]
	case c == 0xd9:
		return v[2:]
	case c == 0xda:
		return v[3:]
	case c == 0xdb:
		return v[5:]
	}
	return nil
}

type mpScanner struct {
	b   []byte
	pos int
}

var errTruncated = errors.New("truncated")

func (s *mpScanner) rest() int { return len(s.b) - s.pos }

func (s *mpScanner) take(n int) ([]byte, error) {
	if n < 0 || n > s.rest() {
		return nil, errTruncated
	}
	p := s.b[s.pos : s.pos+n]
	s.pos += n
	return p, nil
}

func (s *mpScanner) byte() (byte, error) {
	p, err := s.take(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// uintN reads an n-byte big-endian unsigned integer.
func (s *mpScanner) uintN(n int) (uint64, error) {
	p, err := s.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// length reads an n-byte length and checks that at least per*length bytes
// remain, so no prefix can promise more than the input holds.
func (s *mpScanner) length(n, per int) (int, error) {
	v, err := s.uintN(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(s.rest()/per) {
		return 0, fmt.Errorf("length %d exceeds the remaining %d bytes", v, s.rest())
	}
	return int(v), nil
}

func (s *mpScanner) mapLen() (int, error) {
	c, err := s.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x80 && c <= 0x8f:
		return s.fixLen(int(c&0x0f), 2)
	case c == 0xde:
		return s.length(2, 2)
	case c == 0xdf:
		return s.length(4, 2)
	}
	return 0, fmt.Errorf("want map, got %s", mpName(c))
}

func (s *mpScanner) fixLen(n, per int) (int, error) {
	if n > s.rest()/per {
		return 0, errTruncated
	}
	return n, nil
}

// str reads a str and checks its UTF-8.
func (s *mpScanner) str() ([]byte, error) {
	c, err := s.byte()
	if err != nil {
		return nil, err
	}
	var n int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9:
		n, err = s.length(1, 1)
	case c == 0xda:
		n, err = s.length(2, 1)
	case c == 0xdb:
		n, err = s.length(4, 1)
	default:
		return nil, fmt.Errorf("want str, got %s", mpName(c))
	}
	if err != nil {
		return nil, err
	}
	p, err := s.take(n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(p) {
		return nil, errors.New("str is not valid UTF-8")
	}
	return p, nil
}

// value checks one value of the given kind at nesting depth.
func (s *mpScanner) value(kind wireKind, depth int) error {
	if depth > maxMsgpackDepth {
		return errors.New("nested too deep")
	}
	if s.rest() == 0 {
		return errTruncated
	}
	c := s.b[s.pos]
	if c == 0xc0 { // nil: absent, for any kind
		s.pos++
		return nil
	}
	switch fam := mpFamily(c); {
	case fam == famStr:
		if kind != wireStr && kind != wireAny {
			break
		}
		_, err := s.str()
		return err
	case fam == famInt:
		if kind != wireUint && kind != wireInt && kind != wireAny {
			break
		}
		return s.integer(kind)
	case fam == famBool:
		if kind != wireBool && kind != wireAny {
			break
		}
		s.pos++
		return nil
	case fam == famBin:
		if kind != wireBin && kind != wireAny {
			break
		}
		s.pos++
		n, err := s.length(1<<(c-0xc4), 1)
		if err != nil {
			return err
		}
		_, err = s.take(n)
		return err
	case fam == famFloat && kind == wireAny:
		s.pos++
		_, err := s.take(4 << (c - 0xca))
		return err
	case fam == famMap && (kind == wireAny || kind == wireHeader):
		n, err := s.mapLen()
		if err != nil {
			return err
		}
		for range n {
			if kind == wireHeader {
				if _, err := s.str(); err != nil {
					return fmt.Errorf("header key: %w", err)
				}
				if err := s.array(wireStr, depth+1); err != nil {
					return fmt.Errorf("header value: %w", err)
				}
				continue
			}
			if err := s.value(wireAny, depth+1); err != nil {
				return err
			}
			if err := s.value(wireAny, depth+1); err != nil {
				return err
			}
		}
		return nil
	case fam == famArray && kind == wireAny:
		return s.array(wireAny, depth)
	case fam == famExt && kind == wireAny:
		return errors.New("msgpack extension types are not used by this protocol")
	case fam == famNever:
		return errors.New("invalid msgpack byte 0xc1")
	}
	return fmt.Errorf("want %s, got %s", kindName(kind), mpName(c))
}

// array checks an array (or nil) whose elements are of kind elem.
func (s *mpScanner) array(elem wireKind, depth int) error {
	if depth+1 > maxMsgpackDepth {
		return errors.New("nested too deep")
	}
	c, err := s.byte()
	if err != nil {
		return err
	}
	var n int
	switch {
	case c == 0xc0:
		return nil
	case c >= 0x90 && c <= 0x9f:
		n, err = s.fixLen(int(c&0x0f), 1)
	case c == 0xdc:
		n, err = s.length(2, 1)
	case c == 0xdd:
		n, err = s.length(4, 1)
	default:
		return fmt.Errorf("want array, got %s", mpName(c))
	}
	if err != nil {
		return err
	}
	for range n {
		if err := s.value(elem, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// integer checks an integer and that it fits kind.
func (s *mpScanner) integer(kind wireKind) error {
	c, _ := s.byte()
	switch {
	case c <= 0x7f: // positive fixint
		return nil
	case c >= 0xe0: // negative fixint
		if kind == wireUint {
			return errors.New("negative value for an unsigned field")
		}
		return nil
	case c >= 0xcc && c <= 0xcf: // uint 8..64
		v, err := s.uintN(1 << (c - 0xcc))
		if err == nil && kind == wireInt && v > math.MaxInt64 {
			return errors.New("integer overflows int64")
		}
		return err
	default: // 0xd0..0xd3: int 8..64
		n := 1 << (c - 0xd0)
		v, err := s.uintN(n)
		if err != nil {
			return err
		}
		neg := v>>(8*n-1) == 1 // sign bit of the n-byte value
		if neg && kind == wireUint {
			return errors.New("negative value for an unsigned field")
		}
		return nil
	}
}

type mpFam uint8

const (
	famNever mpFam = iota
	famNil
	famBool
	famInt
	famFloat
	famStr
	famBin
	famArray
	famMap
	famExt
)

// mpFamily classifies a msgpack first byte.
func mpFamily(c byte) mpFam {
	switch {
	case c <= 0x7f, c >= 0xe0, c >= 0xcc && c <= 0xd3:
		return famInt
	case c <= 0x8f:
		return famMap
	case c <= 0x9f:
		return famArray
	case c <= 0xbf:
		return famStr
	}
	switch c {
	case 0xc0:
		return famNil
	case 0xc2, 0xc3:
		return famBool
	case 0xc4, 0xc5, 0xc6:
		return famBin
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return famExt
	case 0xca, 0xcb:
		return famFloat
	case 0xd9, 0xda, 0xdb:
		return famStr
	case 0xdc, 0xdd:
		return famArray
	case 0xde, 0xdf:
		return famMap
	}
	return famNever // 0xc1
}

func mpName(c byte) string {
	return [...]string{"invalid byte", "nil", "bool", "integer", "float", "str", "bin", "array", "map", "ext"}[mpFamily(c)]
}

func kindName(k wireKind) string {
	return [...]string{"any", "str", "unsigned integer", "integer", "bool", "bin", "map of str to array of str"}[k]
}
