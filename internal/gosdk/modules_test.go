package gosdk_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSDKModuleStaysSmall: an application requiring the SDK (or the
// protocol) gets neither the server's dependencies nor its test tools.
func TestSDKModuleStaysSmall(t *testing.T) {
	for file, banned := range map[string][]string{
		"../../clients/go/go.mod": {"nats-io", "prometheus", "testify", "github.com/httpmq/httpmq v", "goleak"},
		"../../protocol/go.mod":   {"nats-io", "prometheus", "coder/websocket", "golang.org/x/net"},
	} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, dep := range banned {
			assert.False(t, strings.Contains(string(b), dep), "%s requires %s", file, dep)
		}
	}
}
