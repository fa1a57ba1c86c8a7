// Package openapitest checks real HTTP exchanges against an OpenAPI 3.1
// document, for contract tests: each answer must use a status and a media
// type the document lists for its operation and validate against the
// documented schema, and a request body the server accepted must validate
// against the documented request schema. [Coverage] records which
// operations a test exercised, so that it can require all of them.
//
// It is test-only helper code: nothing outside _test.go files imports it.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Options configure [Load].
type Options struct {
	// ErrorSchema is the JSON pointer of the schema that answers to
	// unknown routes (404 not_found), to known routes with another
	// method (405 method_not_allowed, with Allow) and to requests refused
	// before routing (401 unauthorized) must validate against, e.g.
	// "/components/schemas/ErrorResponse". Required.
	ErrorSchema string
	// RequestIDHeader, when set, names the header whose value every JSON
	// answer must repeat in its top-level "request_id".
	RequestIDHeader string
}

// Spec is a loaded OpenAPI document with its schemas compiled on demand.
// It is safe for concurrent use.
type Spec struct {
	name     string
	url      string
	opts     Options
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

// Load reads the OpenAPI document (YAML or JSON) at path.
func Load(path string, opts Options) (*Spec, error) {
	if opts.ErrorSchema == "" {
		return nil, fmt.Errorf("openapitest: %s: Options.ErrorSchema is required", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Through JSON so that numbers and maps have the types jsonschema
	// expects.
	j, err := json.Marshal(y)
	if err != nil {
		return nil, fmt.Errorf("%s as JSON: %w", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", path)
	}
	if _, ok := m["paths"].(map[string]any); !ok {
		return nil, fmt.Errorf("%s: no paths", path)
	}
	// The document is a schema resource of its own, so that
	// "#/components/schemas/..." references resolve inside it.
	url := "file:///openapitest/" + strings.TrimLeft(path, "./")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return &Spec{name: path, url: url, opts: opts, doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Spec{}
)

// MustLoad is [Load], once per path for the whole test binary; it fails
// t when the document does not load.
func MustLoad(t testing.TB, path string, opts Options) *Spec {
	t.Helper()
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if s, ok := loaded[path]; ok {
		return s
	}
	s, err := Load(path, opts)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	loaded[path] = s
	return s
}

// Validate validates v, decoded by [jsonschema.UnmarshalJSON], against the
// schema at JSON pointer ptr of the document
// ("/components/schemas/Name").
func (s *Spec) Validate(ptr string, v any) error {
	sch, err := s.schema(ptr)
	if err != nil {
		return fmt.Errorf("schema %s: %w", ptr, err)
	}
	return sch.Validate(v)
}

// ValidateJSON is [Spec.Validate] for a JSON text.
func (s *Spec) ValidateJSON(ptr string, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %v: %s", err, data)
	}
	return s.Validate(ptr, v)
}

func (s *Spec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(s.url + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// At returns the object at JSON pointer ptr and its own pointer, after
// following a local $ref there (as response and request body objects
// may be). It returns nil when there is no object at ptr.
func (s *Spec) At(ptr string) (map[string]any, string) {
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
		return s.At(ref[1:])
	}
	return m, ptr
}

// Escape escapes one JSON pointer token ("/" and "~").
func Escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// Route finds the documented path template ("/v1/x/{name}") matching a
// concrete URL path.
func (s *Spec) Route(path string) (string, bool) {
	segs := strings.Split(path, "/")
	for tmpl := range s.doc["paths"].(map[string]any) {
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

// methods are the keys of a path item that are operations.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operations lists every documented operation as "METHOD template"
// ("GET /v1/x/{name}"), sorted.
func (s *Spec) Operations() []string {
	var ops []string
	for tmpl, item := range s.doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if slices.Contains(methods, m) {
				ops = append(ops, strings.ToUpper(m)+" "+tmpl)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// Exchange is one request and its answer.
type Exchange struct {
	Method string
	// Path is the URL path, without query.
	Path string
	// RequestHeader is the request's header; its Content-Type chooses
	// the documented request media type.
	RequestHeader http.Header
	RequestBody   []byte
	Status        int
	Header        http.Header
	// Body is the answer's body: for application/x-ndjson (a stream),
	// the lines read so far, each validated on its own; for media types
	// other than JSON ones, it is not validated.
	Body []byte
}

// mediaType is the media type of a Content-Type value, lower case,
// without parameters.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// Check validates one exchange against the document and returns the
// operation ("METHOD template") it belongs to, or "" for an unknown route
// or method, which must answer the error schema of [Options] with reason
// not_found or method_not_allowed (or unauthorized, 401, identity being
// established before routing). A 204 answer must have no body. A JSON
// answer of status 400 or more whose body has an "error" object must
// carry that status as error.code, an integer. A request body is
// validated too when the answer is a success.
func (s *Spec) Check(x Exchange) (string, error) {
	ct := mediaType(x.Header.Get("Content-Type"))
	if x.Status == http.StatusNoContent {
		if len(x.Body) > 0 {
			return "", fmt.Errorf("%s %s: 204 with a body: %s", x.Method, x.Path, x.Body)
		}
		return "", nil
	}
	tmpl, routed := s.Route(x.Path)
	item, itemPtr := map[string]any(nil), ""
	if routed {
		item, itemPtr = s.At("/paths/" + Escape(tmpl))
	}
	lm := strings.ToLower(x.Method)
	op, hasOp := item[lm].(map[string]any)
	if !routed || !hasOp || !slices.Contains(methods, lm) {
		return "", s.checkUnrouted(x, ct, routed)
	}
	opName := strings.ToUpper(x.Method) + " " + tmpl
	opPtr := itemPtr + "/" + lm
	status := strconv.Itoa(x.Status)
	if _, ok := op["responses"].(map[string]any)[status]; !ok {
		return opName, fmt.Errorf("%s answered %d, which %s does not list: %s", opName, x.Status, s.name, x.Body)
	}
	resp, respPtr := s.At(opPtr + "/responses/" + status)
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(x.Body) > 0 {
			return opName, fmt.Errorf("%s answered %d with a body the document does not describe: %s", opName, x.Status, x.Body)
		}
		return opName, nil
	}
	if _, ok := content[ct]; !ok {
		return opName, fmt.Errorf("%s answered %d with Content-Type %q; documented: %v", opName, x.Status, x.Header.Get("Content-Type"), keys(content))
	}
	schemaPtr := respPtr + "/content/" + Escape(ct) + "/schema"
	switch {
	case isJSON(ct):
		if err := s.checkJSON(schemaPtr, x.Body, x.Header); err != nil {
			return opName, fmt.Errorf("%s answered %d: %w", opName, x.Status, err)
		}
		if x.Status >= 400 {
			v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(x.Body)) // checkJSON parsed it
			if err := checkErrorCode(v, x.Status); err != nil {
				return opName, fmt.Errorf("%s answered %d: %w", opName, x.Status, err)
			}
		}
	case ct == "application/x-ndjson":
		n := 0
		for line := range bytes.SplitSeq(x.Body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue // heartbeats are blanks
			}
			n++
			if err := s.checkJSON(schemaPtr, line, x.Header); err != nil {
				return opName, fmt.Errorf("%s answered %d, line %d: %w", opName, x.Status, n, err)
			}
		}
	}
	if x.Status < 300 && len(bytes.TrimSpace(x.RequestBody)) > 0 {
		if err := s.checkRequest(opName, opPtr, op, x); err != nil {
			return opName, err
		}
	}
	return opName, nil
}

// checkUnrouted checks the answer to an unknown route or method.
func (s *Spec) checkUnrouted(x Exchange, ct string, routed bool) error {
	if ct != "application/json" {
		return fmt.Errorf("%s %s: Content-Type %q, want application/json", x.Method, x.Path, x.Header.Get("Content-Type"))
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(x.Body))
	if err != nil {
		return fmt.Errorf("%s %s: answer is not JSON: %v: %s", x.Method, x.Path, err, x.Body)
	}
	want := "not_found"
	if routed {
		want = "method_not_allowed"
		if x.Header.Get("Allow") == "" {
			return fmt.Errorf("%s %s: 405 without Allow header", x.Method, x.Path)
		}
	}
	obj, _ := v.(map[string]any)
	errObj, _ := obj["error"].(map[string]any)
	reason, _ := errObj["reason"].(string)
	if reason == "unauthorized" && x.Status == http.StatusUnauthorized {
		want = reason // identity is established before routing
	}
	if reason != want || x.Status != map[string]int{"not_found": 404, "method_not_allowed": 405, "unauthorized": 401}[want] {
		return fmt.Errorf("%s %s: %d %q, want reason %q", x.Method, x.Path, x.Status, reason, want)
	}
	if err := checkErrorCode(v, x.Status); err != nil {
		return fmt.Errorf("%s %s: %w", x.Method, x.Path, err)
	}
	if err := s.checkRequestID(obj, x.Header); err != nil {
		return err
	}
	return s.Validate(s.opts.ErrorSchema, v)
}

// checkErrorCode checks the envelope rule of an error answer: its
// "error" object's "code" is the answer's HTTP status, an integer (as the
// original httpmq sent it and its clients decode it).
func checkErrorCode(v any, status int) error {
	obj, _ := v.(map[string]any)
	errObj, ok := obj["error"].(map[string]any)
	if !ok {
		return nil // the schema says whether an error object is required
	}
	code, ok := errObj["code"].(json.Number)
	if !ok {
		return fmt.Errorf("error.code %v is not a number", errObj["code"])
	}
	if n, err := code.Int64(); err != nil || n != int64(status) {
		return fmt.Errorf("error.code %s is not the HTTP status %d", code, status)
	}
	return nil
}

// checkJSON validates one JSON text of an answer.
func (s *Spec) checkJSON(ptr string, body []byte, h http.Header) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %v: %s", err, body)
	}
	if obj, ok := v.(map[string]any); ok {
		if err := s.checkRequestID(obj, h); err != nil {
			return err
		}
	}
	if err := s.Validate(ptr, v); err != nil {
		return fmt.Errorf("%w\n%s", err, body)
	}
	return nil
}

func (s *Spec) checkRequestID(obj map[string]any, h http.Header) error {
	if s.opts.RequestIDHeader == "" {
		return nil
	}
	if id, _ := obj["request_id"].(string); id == "" || id != h.Get(s.opts.RequestIDHeader) {
		return fmt.Errorf("request_id %q in body, %q in header %s", id, h.Get(s.opts.RequestIDHeader), s.opts.RequestIDHeader)
	}
	return nil
}

// checkRequest validates an accepted request body against the documented
// request media type its Content-Type names (application/json when it
// names none).
func (s *Spec) checkRequest(opName, opPtr string, op map[string]any, x Exchange) error {
	if _, ok := op["requestBody"].(map[string]any); !ok {
		return fmt.Errorf("%s took a body the document does not describe", opName)
	}
	rb, rbPtr := s.At(opPtr + "/requestBody")
	content, _ := rb["content"].(map[string]any)
	ct := mediaType(x.RequestHeader.Get("Content-Type"))
	if ct == "" {
		ct = "application/json"
	}
	if _, ok := content[ct]; !ok {
		return fmt.Errorf("%s accepted a body of Content-Type %q; documented: %v", opName, ct, keys(content))
	}
	if !isJSON(ct) {
		return nil
	}
	rv, err := jsonschema.UnmarshalJSON(bytes.NewReader(x.RequestBody))
	if err != nil {
		return fmt.Errorf("%s succeeded with a non-JSON %s body", opName, ct)
	}
	if err := s.Validate(rbPtr+"/content/"+Escape(ct)+"/schema", rv); err != nil {
		return fmt.Errorf("%s accepted a body its schema refuses: %w\n%s", opName, err, x.RequestBody)
	}
	return nil
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Coverage records which operations answered which statuses. It is safe
// for concurrent use; the zero value is ready.
type Coverage struct {
	mu   sync.Mutex
	seen map[string]map[int]bool
}

// Record notes that op ("METHOD template", as [Spec.Check] returns it)
// answered status. An empty op (unknown route) is ignored.
func (c *Coverage) Record(op string, status int) {
	if op == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]map[int]bool{}
	}
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][status] = true
}

// Answered reports whether op answered status.
func (c *Coverage) Answered(op string, status int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[op][status]
}

// Succeeded reports whether op answered a 2xx status.
func (c *Coverage) Succeeded(op string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for st := range c.seen[op] {
		if st >= 200 && st < 300 {
			return true
		}
	}
	return false
}

// Missing lists the operations of s that never answered with success.
func (c *Coverage) Missing(s *Spec) []string {
	var missing []string
	for _, op := range s.Operations() {
		if !c.Succeeded(op) {
			missing = append(missing, op)
		}
	}
	return missing
}
