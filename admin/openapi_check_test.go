package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// specURL names docs/openapi.yaml as a schema resource, so that
// "#/components/schemas/..." references resolve inside it.
const specURL = "file:///httpmq/openapi.json"

// spec is docs/openapi.yaml, loaded once, with compiled schemas cached by
// location.
type spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	raw, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	// Through JSON so that numbers and maps have the types jsonschema
	// expects.
	j, err := json.Marshal(y)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	return &spec{doc: doc.(map[string]any), compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
})

func mustSpec(t testing.TB) *spec {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatalf("loading docs/openapi.yaml: %v", err)
	}
	return s
}

// schema compiles the schema at JSON pointer ptr of the document.
func (s *spec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(specURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// at returns the value at ptr and the pointer after following a $ref
// there (for response objects).
func (s *spec) at(ptr string) (map[string]any, string) {
	var cur any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, ptr
		}
		cur = m[tok]
	}
	m, _ := cur.(map[string]any)
	if ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
		return s.at(ref[1:])
	}
	return m, ptr
}

func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// route finds the documented path template matching a concrete path.
func (s *spec) route(path string) (string, bool) {
	paths := s.doc["paths"].(map[string]any)
	segs := strings.Split(path, "/")
	for tmpl := range paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") {
				ok = segs[i] != ""
			} else {
				ok = ts[i] == segs[i]
			}
			if !ok {
				break
			}
		}
		if ok {
			return tmpl, true
		}
	}
	return "", false
}

// operations lists every documented "METHOD template".
func (s *spec) operations() []string {
	var ops []string
	for tmpl, item := range s.doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if m != "parameters" {
				ops = append(ops, strings.ToUpper(m)+" "+tmpl)
			}
		}
	}
	return ops
}

// check validates one exchange against the document and returns the
// operation ("METHOD template") it belongs to, or "" for an unknown
// route or method. reqBody is validated too when the answer is a success.
func (s *spec) check(method, path string, reqBody []byte, status int, header http.Header, body []byte) (string, error) {
	if ct := header.Get("Content-Type"); ct != "application/json" && status != http.StatusNoContent {
		return "", fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	if status == http.StatusNoContent {
		return "", nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("answer is not JSON: %v: %s", err, body)
	}
	if id, _ := v.(map[string]any)["request_id"].(string); id == "" || id != header.Get("Httpmq-Request-ID") {
		return "", fmt.Errorf("request_id %q in body, %q in header", id, header.Get("Httpmq-Request-ID"))
	}
	tmpl, ok := s.route(path)
	item, itemPtr := map[string]any(nil), ""
	if ok {
		item, itemPtr = s.at("/paths/" + escape(tmpl))
	}
	op, hasOp := item[strings.ToLower(method)].(map[string]any)
	if !ok || !hasOp {
		// Unknown route or method: the generic error envelope, with the
		// documented status and code.
		want := "not_found"
		if ok {
			want = "method_not_allowed"
			if header.Get("Allow") == "" {
				return "", fmt.Errorf("405 without Allow header")
			}
		}
		errObj, _ := v.(map[string]any)["error"].(map[string]any)
		code, _ := errObj["code"].(string)
		if code == "unauthorized" && status == http.StatusUnauthorized {
			want = code // identity is established before routing
		}
		if code != want || status != map[string]int{"not_found": 404, "method_not_allowed": 405, "unauthorized": 401}[want] {
			return "", fmt.Errorf("%s %s: %d %q, want code %q", method, path, status, code, want)
		}
		return "", s.validate("/components/schemas/ErrorResponse", v)
	}
	opName := method + " " + tmpl
	respPtr := itemPtr + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(status)
	if _, ok := op["responses"].(map[string]any)[strconv.Itoa(status)]; !ok {
		return opName, fmt.Errorf("%s answered %d, which the document does not list: %s", opName, status, body)
	}
	_, respPtr = s.at(respPtr)
	if err := s.validate(respPtr+"/content/application~1json/schema", v); err != nil {
		return opName, fmt.Errorf("%s answered %d: %w\n%s", opName, status, err, body)
	}
	if status < 300 && len(bytes.TrimSpace(reqBody)) > 0 {
		if _, ok := op["requestBody"].(map[string]any); !ok {
			return opName, fmt.Errorf("%s took a body the document does not describe", opName)
		}
		rv, err := jsonschema.UnmarshalJSON(bytes.NewReader(reqBody))
		if err != nil {
			return opName, fmt.Errorf("%s succeeded with a non-JSON body", opName)
		}
		ptr := itemPtr + "/" + strings.ToLower(method) + "/requestBody/content/application~1json/schema"
		if err := s.validate(ptr, rv); err != nil {
			return opName, fmt.Errorf("%s accepted a body its schema refuses: %w\n%s", opName, err, reqBody)
		}
	}
	return opName, nil
}

func (s *spec) validate(ptr string, v any) error {
	sch, err := s.schema(ptr)
	if err != nil {
		return fmt.Errorf("schema %s: %w", ptr, err)
	}
	return sch.Validate(v)
}
