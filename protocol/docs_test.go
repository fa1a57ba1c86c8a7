package protocol_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

// TestDocsMatchCode keeps docs/protocol.md consistent with this package:
// every error code with its status and retryability, every close code,
// every field name, and the golden JSON frames appear in it.
func TestDocsMatchCode(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	require.NoError(t, err)
	doc := string(b)
	has := func(sub, what string, args ...any) {
		t.Helper()
		assert.True(t, strings.Contains(doc, sub), "docs/protocol.md lacks %q (%s)", sub, fmt.Sprintf(what, args...))
	}
	var headings []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#### ") {
			headings = append(headings, line)
		}
	}

	for _, c := range protocol.Codes() {
		retry := "no"
		if c.Retryable() {
			retry = "yes"
		}
		row := fmt.Sprintf("| `%s` |", c)
		i := strings.Index(doc, row)
		if !assert.GreaterOrEqual(t, i, 0, "error code %s missing from the table", c) {
			continue
		}
		line := doc[i : i+strings.Index(doc[i:], "\n")]
		assert.True(t, strings.HasSuffix(line, fmt.Sprintf("| %s | %d |", retry, c.HTTPStatus())),
			"row for %s should end with retryable %s and status %d: %s", c, retry, c.HTTPStatus(), line)
	}
	for _, c := range protocol.CloseCodes() {
		has(fmt.Sprintf("| %d | `%s` |", int(c), c), "close code %d", int(c))
	}
	ft := reflect.TypeFor[protocol.Frame]()
	for i := range ft.NumField() {
		name, _, _ := strings.Cut(ft.Field(i).Tag.Get("json"), ",")
		has("`"+name+"`", "field %s", name)
	}
	for _, ft := range allTypes {
		assert.True(t, slices.ContainsFunc(headings, func(h string) bool { return strings.Contains(h, "`"+string(ft)+"`") }),
			"frame type %s has no #### section", ft)
	}
	for _, tc := range goldenCases() {
		if tc.name == "msg_binary" {
			continue
		}
		g, err := os.ReadFile(filepath.Join(goldenDir, tc.name+".json"))
		require.NoError(t, err)
		has(string(g), "golden %s.json shown verbatim", tc.name)
	}
	for _, sp := range protocol.Subprotocols() {
		has("`"+sp+"`", "subprotocol")
	}
}
