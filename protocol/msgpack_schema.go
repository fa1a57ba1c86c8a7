package protocol

import (
	"reflect"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// wireField is one Frame field as the msgpack codec sees it.
type wireField struct {
	name  string // msgpack key
	index int    // field index in Frame
	kind  wireKind
}

// schema lists Frame's fields in wire order and by key.
type schema struct {
	fields []wireField
	byName map[string]wireKind
}

// frameSchema is derived once from Frame's struct tags, so the msgpack
// codec cannot drift from them. It is read-only.
var frameSchema = newSchema()

func newSchema() schema {
	t := reflect.TypeFor[Frame]()
	s := schema{byName: make(map[string]wireKind, t.NumField())}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("msgpack"), ",")
		var k wireKind
		switch {
		case sf.Type == reflect.TypeFor[Header]():
			k = wireHeader
		case sf.Type == reflect.TypeFor[[]byte]():
			k = wireBin
		case sf.Type.Kind() == reflect.String:
			k = wireStr
		case sf.Type.Kind() == reflect.Bool:
			k = wireBool
		case sf.Type.Kind() == reflect.Uint64:
			k = wireUint
		case sf.Type.Kind() == reflect.Int, sf.Type.Kind() == reflect.Int64:
			k = wireInt
		default:
			panic("protocol: no wire kind for Frame." + sf.Name) // fails every test at once
		}
		s.fields = append(s.fields, wireField{name: name, index: i, kind: k})
		s.byName[name] = k
	}
	return s
}

// encodeFrame writes f as a map of its non-zero fields in struct order,
// plus "type" always. It produces the same bytes as msgpack/v5's own
// struct encoding with omitempty tags (a test holds it to that) without
// that path's allocation per field.
func encodeFrame(enc *msgpack.Encoder, f *Frame) error {
	v := reflect.ValueOf(f).Elem()
	n := 0
	for i, wf := range frameSchema.fields {
		if i == 0 || !empty(v.Field(wf.index), wf.kind) {
			n++
		}
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	for i, wf := range frameSchema.fields {
		fv := v.Field(wf.index)
		if i > 0 && empty(fv, wf.kind) {
			continue
		}
		if err := enc.EncodeString(wf.name); err != nil {
			return err
		}
		var err error
		switch wf.kind {
		case wireStr:
			err = enc.EncodeString(fv.String())
		case wireUint:
			err = enc.EncodeUint(fv.Uint())
		case wireInt:
			err = enc.EncodeInt(fv.Int())
		case wireBool:
			err = enc.EncodeBool(fv.Bool())
		case wireBin:
			err = enc.EncodeBytes(fv.Bytes())
		case wireHeader:
			err = f.Headers.EncodeMsgpack(enc)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// empty is omitempty's test: zero, or no elements for payloads and headers.
func empty(v reflect.Value, k wireKind) bool {
	if k == wireBin || k == wireHeader {
		return v.Len() == 0
	}
	return v.IsZero()
}
