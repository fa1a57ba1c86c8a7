package protocol

import (
	"errors"
	"maps"
	"math"
	"slices"
	"time"
)

// The msgpack codec's encoder and decoder, written out field by field:
// no reflection, no msgpack library, one allocation for an encoded frame
// and one per string or payload of a decoded one. Tests hold them to the
// msgpack/v5 library's struct encoding and decoding (byte for byte, and
// value for value on any input the check accepts), and to Frame's
// struct tags through frameSchema.

// appendMsgpackFrame appends f as one msgpack map: "type" always, the
// other fields when not zero, in struct order.
func appendMsgpackFrame(b []byte, f *Frame) []byte {
	n := 1
	count := func(nonzero bool) {
		if nonzero {
			n++
		}
	}
	count(f.ID != "")
	count(f.Sub != "")
	count(f.Version != 0)
	count(f.Session != "")
	count(f.MaxFrame != 0)
	count(f.MaxSubs != 0)
	count(f.Heartbeat != 0)
	count(f.Token != "")
	count(f.Subject != "")
	count(f.Stream != "")
	count(f.Consumer != "")
	count(f.Filter != "")
	count(f.Group != "")
	count(f.MaxInflight != 0)
	count(f.FromSeq != 0)
	count(f.Since != 0)
	count(f.Last != 0)
	count(f.Recovered)
	count(f.StreamSeq != 0)
	count(f.ConsumerSeq != 0)
	count(f.Deliveries != 0)
	count(f.Pending != 0)
	count(f.Time != 0)
	count(f.Delay != 0)
	count(f.MsgID != "")
	count(f.Seq != 0)
	count(f.Duplicate)
	count(f.Status != 0)
	count(f.Reason != "")
	count(f.Message != "")
	count(f.Detail != "")
	count(f.Retryable)
	count(f.RetryAfter != 0)
	count(len(f.Headers) > 0)
	count(len(f.Data) > 0)
	b = mpAppendMapLen(b, n)
	b = mpAppendStr(mpAppendStr(b, "type"), string(f.Type))
	str := func(key, v string) {
		if v != "" {
			b = mpAppendStr(mpAppendStr(b, key), v)
		}
	}
	integer := func(key string, v int64) {
		if v != 0 {
			b = mpAppendInt(mpAppendStr(b, key), v)
		}
	}
	unsigned := func(key string, v uint64) {
		if v != 0 {
			b = mpAppendUint(mpAppendStr(b, key), v)
		}
	}
	boolean := func(key string, v bool) {
		if v {
			b = append(mpAppendStr(b, key), 0xc3)
		}
	}
	str("id", f.ID)
	str("sub", f.Sub)
	integer("version", int64(f.Version))
	str("session", f.Session)
	integer("max_frame", int64(f.MaxFrame))
	integer("max_subs", int64(f.MaxSubs))
	integer("heartbeat", int64(f.Heartbeat))
	str("token", f.Token)
	str("subject", f.Subject)
	str("stream", f.Stream)
	str("consumer", f.Consumer)
	str("filter", f.Filter)
	str("group", f.Group)
	integer("max_inflight", int64(f.MaxInflight))
	unsigned("from_seq", f.FromSeq)
	integer("since", f.Since)
	integer("last", int64(f.Last))
	boolean("recovered", f.Recovered)
	unsigned("stream_seq", f.StreamSeq)
	unsigned("consumer_seq", f.ConsumerSeq)
	unsigned("deliveries", f.Deliveries)
	unsigned("pending", f.Pending)
	integer("time", f.Time)
	integer("delay", int64(f.Delay))
	str("msg_id", f.MsgID)
	unsigned("seq", f.Seq)
	boolean("duplicate", f.Duplicate)
	integer("code", int64(f.Status))
	str("reason", f.Reason)
	str("message", f.Message)
	str("detail", f.Detail)
	boolean("retryable", f.Retryable)
	integer("retry_after", int64(f.RetryAfter))
	if len(f.Headers) > 0 {
		b = mpAppendHeader(mpAppendStr(b, "headers"), f.Headers)
	}
	if len(f.Data) > 0 {
		b = mpAppendBin(mpAppendStr(b, "data"), f.Data)
	}
	return b
}

// msgpackFrameSize is a size that appendMsgpackFrame will not outgrow for
// most frames: enough for the variable parts and the fixed ones.
func msgpackFrameSize(f *Frame) int {
	n := 256 + len(f.ID) + len(f.Sub) + len(f.Session) + len(f.Token) + len(f.Subject) + len(f.Stream) +
		len(f.Consumer) + len(f.Filter) + len(f.Group) + len(f.MsgID) + len(f.Reason) + len(f.Message) +
		len(f.Detail) + len(f.Data)
	for k, vs := range f.Headers {
		n += len(k) + 10
		for _, v := range vs {
			n += len(v) + 5
		}
	}
	return n
}

func mpAppendMapLen(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	}
	return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func mpAppendArrayLen(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	}
	return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func mpAppendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= 31:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

func mpAppendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xc5, byte(n>>8), byte(n))
	default:
		b = append(b, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

// mpAppendUint writes v in its smallest msgpack form.
func mpAppendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, 0xcf, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// mpAppendInt writes v in its smallest msgpack form: unsigned forms for
// v >= 0, as msgpack/v5's compact integers do.
func mpAppendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return mpAppendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(b, 0xd2, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// mpAppendHeader writes h with its keys sorted; a nil value list is nil.
func mpAppendHeader(b []byte, h Header) []byte {
	b = mpAppendMapLen(b, len(h))
	var keys []string
	if len(h) == 1 {
		for k := range h {
			keys = []string{k}
		}
	} else {
		keys = slices.Sorted(maps.Keys(h))
	}
	for _, k := range keys {
		b = mpAppendStr(b, k)
		vals := h[k]
		if vals == nil {
			b = append(b, 0xc0)
			continue
		}
		b = mpAppendArrayLen(b, len(vals))
		for _, v := range vals {
			b = mpAppendStr(b, v)
		}
	}
	return b
}

// errMsgpackShape is returned by decodeMsgpackFrame for input that
// checkMsgpackFrame would have refused: it is only ever called after the
// check, so it means a bug in one of them.
var errMsgpackShape = errors.New("input does not have the shape the check verified")

// decodeMsgpackFrame decodes a frame that checkMsgpackFrame (or
// checkMsgpackPrefix, for exactly these bytes) accepted. Nil stands for
// an absent field; of a key given twice, the last value counts; unknown
// keys are skipped.
func decodeMsgpackFrame(b []byte) (*Frame, error) {
	r := mpReader{b: b}
	n, ok := r.mapLen()
	if !ok {
		return nil, errMsgpackShape
	}
	f := new(Frame)
	for range n {
		key, ok := r.strBytes()
		if !ok {
			return nil, errMsgpackShape
		}
		if !r.field(f, key) {
			return nil, errMsgpackShape
		}
	}
	if r.pos != len(b) {
		return nil, errMsgpackShape
	}
	return f, nil
}

// mpReader reads checked msgpack; every method reports false instead of
// reading out of bounds.
type mpReader struct {
	b   []byte
	pos int
}

// field reads the value of key into f.
func (r *mpReader) field(f *Frame, key []byte) bool {
	var ok bool
	switch string(key) {
	case "type":
		f.Type, ok = r.frameType()
	case "id":
		f.ID, ok = r.str()
	case "sub":
		f.Sub, ok = r.str()
	case "version":
		f.Version, ok = r.int()
	case "session":
		f.Session, ok = r.str()
	case "max_frame":
		f.MaxFrame, ok = r.int()
	case "max_subs":
		f.MaxSubs, ok = r.int()
	case "heartbeat":
		var v int64
		v, ok = r.int64()
		f.Heartbeat = time.Duration(v)
	case "token":
		f.Token, ok = r.str()
	case "subject":
		f.Subject, ok = r.str()
	case "stream":
		f.Stream, ok = r.str()
	case "consumer":
		f.Consumer, ok = r.str()
	case "filter":
		f.Filter, ok = r.str()
	case "group":
		f.Group, ok = r.str()
	case "max_inflight":
		f.MaxInflight, ok = r.int()
	case "from_seq":
		f.FromSeq, ok = r.uint64()
	case "since":
		f.Since, ok = r.int64()
	case "last":
		f.Last, ok = r.int()
	case "recovered":
		f.Recovered, ok = r.bool()
	case "stream_seq":
		f.StreamSeq, ok = r.uint64()
	case "consumer_seq":
		f.ConsumerSeq, ok = r.uint64()
	case "deliveries":
		f.Deliveries, ok = r.uint64()
	case "pending":
		f.Pending, ok = r.uint64()
	case "time":
		f.Time, ok = r.int64()
	case "delay":
		var v int64
		v, ok = r.int64()
		f.Delay = time.Duration(v)
	case "msg_id":
		f.MsgID, ok = r.str()
	case "seq":
		f.Seq, ok = r.uint64()
	case "duplicate":
		f.Duplicate, ok = r.bool()
	case "code":
		f.Status, ok = r.int()
	case "reason":
		f.Reason, ok = r.str()
	case "message":
		f.Message, ok = r.str()
	case "detail":
		f.Detail, ok = r.str()
	case "retryable":
		f.Retryable, ok = r.bool()
	case "retry_after":
		var v int64
		v, ok = r.int64()
		f.RetryAfter = time.Duration(v)
	case "headers":
		f.Headers, ok = r.header(f.Headers)
	case "data":
		f.Data, ok = r.bin()
	default:
		ok = r.skip(1)
	}
	return ok
}

func (r *mpReader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, false
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p, true
}

func (r *mpReader) byte() (byte, bool) {
	if r.pos >= len(r.b) {
		return 0, false
	}
	c := r.b[r.pos]
	r.pos++
	return c, true
}

func (r *mpReader) peek() (byte, bool) {
	if r.pos >= len(r.b) {
		return 0, false
	}
	return r.b[r.pos], true
}

// nil consumes a nil and reports whether there was one.
func (r *mpReader) nil() bool {
	if c, ok := r.peek(); ok && c == 0xc0 {
		r.pos++
		return true
	}
	return false
}

func (r *mpReader) uintN(n int) (uint64, bool) {
	p, ok := r.take(n)
	if !ok {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// length reads the length that follows a first byte: fix (in the byte),
// or 1, 2 or 4 bytes.
func (r *mpReader) length(c byte, fixBase, fixMask byte, c8, c16, c32 byte) (int, bool) {
	var v uint64
	ok := true
	switch {
	case fixMask != 0 && c&^fixMask == fixBase:
		return int(c & fixMask), true
	case c8 != 0 && c == c8:
		v, ok = r.uintN(1)
	case c == c16:
		v, ok = r.uintN(2)
	case c == c32:
		v, ok = r.uintN(4)
	default:
		return 0, false
	}
	if !ok || v > uint64(len(r.b)-r.pos) {
		return 0, false
	}
	return int(v), true
}

func (r *mpReader) mapLen() (int, bool) {
	c, ok := r.byte()
	if !ok {
		return 0, false
	}
	return r.length(c, 0x80, 0x0f, 0, 0xde, 0xdf)
}

func (r *mpReader) arrayLen() (int, bool) {
	c, ok := r.byte()
	if !ok {
		return 0, false
	}
	return r.length(c, 0x90, 0x0f, 0, 0xdc, 0xdd)
}

func (r *mpReader) strBytes() ([]byte, bool) {
	c, ok := r.byte()
	if !ok {
		return nil, false
	}
	n, ok := r.length(c, 0xa0, 0x1f, 0xd9, 0xda, 0xdb)
	if !ok {
		return nil, false
	}
	return r.take(n)
}

// str reads a str, or nil as "".
func (r *mpReader) str() (string, bool) {
	if r.nil() {
		return "", true
	}
	p, ok := r.strBytes()
	return string(p), ok
}

// frameType reads a str (or nil) as a frame type, without allocating
// for the known ones.
func (r *mpReader) frameType() (FrameType, bool) {
	if r.nil() {
		return "", true
	}
	p, ok := r.strBytes()
	if !ok {
		return "", false
	}
	for _, t := range knownTypes {
		if string(t) == string(p) {
			return t, true
		}
	}
	return FrameType(p), true
}

var knownTypes = [...]FrameType{
	TypePublish, TypeAck, TypeMsg, TypeOK, TypeNak, TypeTerm, TypeProgress, TypeSubscribe, TypeUnsubscribe,
	TypePing, TypePong, TypeAuth, TypeHello, TypeError, TypeClosed,
}

// bin reads a bin into a new slice (the input is not kept), or nil.
func (r *mpReader) bin() ([]byte, bool) {
	if r.nil() {
		return nil, true
	}
	c, ok := r.byte()
	if !ok || c < 0xc4 || c > 0xc6 {
		return nil, false
	}
	n, ok := r.uintN(1 << (c - 0xc4))
	if !ok {
		return nil, false
	}
	if n > uint64(len(r.b)-r.pos) {
		return nil, false
	}
	p, _ := r.take(int(n))
	return append([]byte{}, p...), true
}

func (r *mpReader) bool() (bool, bool) {
	if r.nil() {
		return false, true
	}
	c, ok := r.byte()
	switch {
	case !ok:
		return false, false
	case c == 0xc3:
		return true, true
	case c == 0xc2:
		return false, true
	}
	return false, false
}

// integer reads any msgpack integer (or nil, as 0) as its value's bits
// and whether it is negative.
func (r *mpReader) integer() (v uint64, neg, ok bool) {
	if r.nil() {
		return 0, false, true
	}
	c, ok := r.byte()
	switch {
	case !ok:
		return 0, false, false
	case c <= 0x7f:
		return uint64(c), false, true
	case c >= 0xe0:
		return uint64(int64(int8(c))), true, true
	case c >= 0xcc && c <= 0xcf:
		v, ok = r.uintN(1 << (c - 0xcc))
		return v, false, ok
	case c >= 0xd0 && c <= 0xd3:
		n := 1 << (c - 0xd0)
		u, ok := r.uintN(n)
		if !ok {
			return 0, false, false
		}
		shift := 64 - 8*n
		s := int64(u<<shift) >> shift // sign-extend the n-byte value
		return uint64(s), s < 0, true
	}
	return 0, false, false
}

func (r *mpReader) uint64() (uint64, bool) {
	v, neg, ok := r.integer()
	return v, ok && !neg
}

func (r *mpReader) int64() (int64, bool) {
	v, neg, ok := r.integer()
	if !neg && v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), ok
}

func (r *mpReader) int() (int, bool) {
	v, ok := r.int64()
	return int(v), ok
}

// header reads a map of str to array of str (or nil) into a new map;
// into into when the frame named its headers before (as msgpack/v5 does:
// the entries of both count).
func (r *mpReader) header(into Header) (Header, bool) {
	if r.nil() {
		return nil, true
	}
	n, ok := r.mapLen()
	if !ok {
		return nil, false
	}
	h := into
	if h == nil {
		h = make(Header, n)
	}
	for range n {
		k, ok := r.str()
		if !ok {
			return nil, false
		}
		if r.nil() {
			h[k] = nil
			continue
		}
		m, ok := r.arrayLen()
		if !ok {
			return nil, false
		}
		vals := make([]string, m)
		for i := range vals {
			if vals[i], ok = r.str(); !ok {
				return nil, false
			}
		}
		h[k] = vals
	}
	return h, true
}

// skip passes over one well-formed value of any kind.
func (r *mpReader) skip(depth int) bool {
	if depth > maxMsgpackDepth {
		return false
	}
	c, ok := r.byte()
	if !ok {
		return false
	}
	var n uint64
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return true
	case c <= 0x8f, c == 0xde, c == 0xdf:
		r.pos--
		m, ok := r.mapLen()
		for i := 0; ok && i < 2*m; i++ {
			ok = r.skip(depth + 1)
		}
		return ok
	case c <= 0x9f, c == 0xdc, c == 0xdd:
		r.pos--
		m, ok := r.arrayLen()
		for i := 0; ok && i < m; i++ {
			ok = r.skip(depth + 1)
		}
		return ok
	case c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		r.pos--
		_, ok := r.strBytes()
		return ok
	case c >= 0xc4 && c <= 0xc6:
		n, ok = r.uintN(1 << (c - 0xc4))
	case c >= 0xcc && c <= 0xcf:
		_, ok = r.take(1 << (c - 0xcc))
		return ok
	case c >= 0xd0 && c <= 0xd3:
		_, ok = r.take(1 << (c - 0xd0))
		return ok
	case c == 0xca, c == 0xcb:
		_, ok = r.take(4 << (c - 0xca))
		return ok
	default: // ext types and 0xc1: the check refuses them
		return false
	}
	if !ok || n > uint64(len(r.b)-r.pos) {
		return false
	}
	r.pos += int(n)
	return true
}
