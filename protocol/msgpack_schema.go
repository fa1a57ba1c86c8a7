package protocol

import (
	"reflect"
	"strings"
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
