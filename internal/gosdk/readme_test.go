package gosdk_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// TestREADMEExample: the Go block of clients/go/README.md is the compiled
// consumeOne of readme_example_test.go, and it works against a real
// httpmq with JWT authentication.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../../clients/go/README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	require.NotEmpty(t, blocks, "a Go block in the README")
	src, err := os.ReadFile("readme_example_test.go")
	require.NoError(t, err)
	assert.Contains(t, string(src), string(blocks[0][1]), "the README's example and readme_example_test.go differ: copy one to the other")

	srv := jwtServer(t)
	token := func(ctx context.Context) (string, error) { return mint(t, "alice", time.Hour), nil }
	require.NoError(t, consumeOne(ctx(t), srv.URL, srv.WSURL, token))
	info, err := httpmq.NewAdminClient(srv.URL, &httpmq.ClientOptions{HTTPClient: srv.client, Token: token}).Consumer(ctx(t), "ORDERS", "shipping")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.AckFloor.StreamSeq, "the order was acknowledged")
}
