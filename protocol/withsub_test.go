package protocol_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

func TestWithSub(t *testing.T) {
	frames := []*protocol.Frame{
		{Type: protocol.TypeMsg, Subject: "orders.eu", Stream: "ORDERS", StreamSeq: 42,
			Time: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).UnixNano(), Data: []byte("hello")},
		{Type: protocol.TypeMsg, Subject: "a", Headers: protocol.Header{"K": {"v1", "v2"}}, Data: make([]byte, 70_000)},
		{Type: protocol.TypeMsg}, // the fewest fields: none but the type
	}
	for _, c := range []protocol.Codec{protocol.JSONCodec{}, protocol.MsgpackCodec{}} {
		for i, f := range frames {
			for _, sub := range []string{"s1", "", `quote " and <tag> & é`, strings.Repeat("x", 300)} {
				enc, err := c.Encode(f)
				require.NoError(t, err)
				got, err := protocol.WithSub(c, enc, sub)
				require.NoError(t, err, "%s frame %d", c.Name(), i)
				decoded, err := c.Decode(got)
				require.NoError(t, err, "%s frame %d: %q", c.Name(), i, got)
				want := *f
				want.Sub = sub
				wantEnc, err := c.Encode(&want)
				require.NoError(t, err)
				wantDecoded, err := c.Decode(wantEnc)
				require.NoError(t, err)
				assert.Equal(t, wantDecoded, decoded, "%s frame %d sub %q", c.Name(), i, sub)
				assert.Equal(t, len(wantEnc), len(got), "the same bytes but for their order")
			}
		}
		_, err := protocol.WithSub(c, []byte("x"), "s")
		assert.Error(t, err, c.Name())
	}
}

func BenchmarkWithSub(b *testing.B) {
	f := &protocol.Frame{Type: protocol.TypeMsg, Subject: "prices.eur", Stream: "PRICES", StreamSeq: 5001,
		Time: 1767225600123456789, Data: []byte(strings.Repeat("x", 128))}
	for _, c := range []protocol.Codec{protocol.JSONCodec{}, protocol.MsgpackCodec{}} {
		enc, err := c.Encode(f)
		require.NoError(b, err)
		b.Run(c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := protocol.WithSub(c, enc, "dashboard-7"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
