package protocol_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/protocol")

const goldenDir = "../testdata/protocol"

// goldenCases are the representative frames, one per type or variant,
// stored as NAME.json and NAME.msgpack in testdata/protocol.
func goldenCases() []struct {
	name  string
	frame *protocol.Frame
} {
	return []struct {
		name  string
		frame *protocol.Frame
	}{
		{"hello", &protocol.Frame{Type: protocol.TypeHello, Version: 1, Session: "s_7Hq2", MaxFrame: 1 << 20, MaxSubs: 64, Heartbeat: 20 * time.Second}},
		{"subscribe", &protocol.Frame{Type: protocol.TypeSubscribe, ID: "1", Sub: "orders", Stream: "ORDERS", Consumer: "worker", Filter: "orders.>", Group: "workers", MaxInflight: 32}},
		{"subscribe_live", &protocol.Frame{Type: protocol.TypeSubscribe, ID: "9", Sub: "prices", Subject: "prices.>", FromSeq: 5001}},
		{"ok_live", &protocol.Frame{Type: protocol.TypeOK, ID: "9", Stream: "PRICES", Recovered: true}},
		{"msg_live", &protocol.Frame{Type: protocol.TypeMsg, Sub: "prices", Subject: "prices.eur", Stream: "PRICES", StreamSeq: 5001, Time: 1767225600123456789, Data: []byte(`{"bid":1.0871}`)}},
		{"unsubscribe", &protocol.Frame{Type: protocol.TypeUnsubscribe, ID: "2", Sub: "orders"}},
		{"publish", &protocol.Frame{Type: protocol.TypePublish, ID: "3", Subject: "orders.eu.created", MsgID: "order-1042", Headers: protocol.Header{"Trace-Id": {"abc"}, "A": {"1", "2"}}, Data: []byte(`{"order":1042}`)}},
		{"ack", &protocol.Frame{Type: protocol.TypeAck, ID: "4", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 17, Deliveries: 1}},
		{"ack_no_reply", &protocol.Frame{Type: protocol.TypeAck, Stream: "ORDERS", Consumer: "worker", StreamSeq: 1043, ConsumerSeq: 18}},
		{"nak", &protocol.Frame{Type: protocol.TypeNak, ID: "5", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 17, Deliveries: 2, Delay: 5 * time.Second}},
		{"term", &protocol.Frame{Type: protocol.TypeTerm, ID: "6", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 19, Deliveries: 3, Reason: "unparseable order"}},
		{"progress", &protocol.Frame{Type: protocol.TypeProgress, Stream: "ORDERS", Consumer: "worker", StreamSeq: 1044, ConsumerSeq: 20}},
		{"ping", &protocol.Frame{Type: protocol.TypePing, ID: "7"}},
		{"auth", &protocol.Frame{Type: protocol.TypeAuth, ID: "8", Token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc2NzIyOTIwMH0.c2lnbmF0dXJl"}},
		{"ok", &protocol.Frame{Type: protocol.TypeOK, ID: "1"}},
		{"ok_publish", &protocol.Frame{Type: protocol.TypeOK, ID: "3", Stream: "ORDERS", Seq: 1042}},
		{"ok_publish_duplicate", &protocol.Frame{Type: protocol.TypeOK, ID: "3", Stream: "ORDERS", Seq: 1042, Duplicate: true}},
		{"error", &protocol.Frame{Type: protocol.TypeError, ID: "1", Status: 404, Reason: "consumer_not_found", Message: `consumer "worker" not found on stream "ORDERS"`, Sub: "orders"}},
		{"error_retryable", &protocol.Frame{Type: protocol.TypeError, ID: "3", Status: 503, Reason: "unavailable", Message: "NATS JetStream is unavailable", Retryable: true}},
		{"error_rate_limited", &protocol.Frame{Type: protocol.TypeError, ID: "3", Status: 429, Reason: "rate_limited", Message: "rate limited", Detail: "rate limited: too many publish messages; retry after 250ms", Retryable: true, RetryAfter: 250 * time.Millisecond}},
		{"error_no_id", &protocol.Frame{Type: protocol.TypeError, Status: 400, Reason: "malformed_frame", Message: "malformed frame: invalid JSON at offset 12"}},
		{"msg", &protocol.Frame{Type: protocol.TypeMsg, Sub: "orders", Subject: "orders.eu.created", Stream: "ORDERS", Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 17, Deliveries: 1, Pending: 3, Time: 1767225600123456789, Headers: protocol.Header{"Nats-Msg-Id": {"order-1042"}}, Data: []byte(`{"order":1042}`)}},
		{"msg_binary", &protocol.Frame{Type: protocol.TypeMsg, Sub: "raw", Subject: "sensor.7", Stream: "SENSORS", Consumer: "c1", StreamSeq: 9, ConsumerSeq: 9, Deliveries: 1, Time: 1767225600000000000, Data: []byte{0x00, 0xff, 0x10, 0x80}}},
		{"pong", &protocol.Frame{Type: protocol.TypePong, ID: "7"}},
		{"closed", &protocol.Frame{Type: protocol.TypeClosed, Sub: "orders", Status: 404, Reason: "consumer_not_found", Message: "consumer deleted"}},
	}
}

func codecs() []protocol.Codec {
	return []protocol.Codec{protocol.JSONCodec{}, protocol.MsgpackCodec{}}
}

func ext(c protocol.Codec) string {
	if c.Binary() {
		return ".msgpack"
	}
	return ".json"
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		for _, c := range codecs() {
			t.Run(tc.name+ext(c), func(t *testing.T) {
				require.NoError(t, tc.frame.Validate(), "golden frames must be valid")
				path := filepath.Join(goldenDir, tc.name+ext(c))
				got, err := c.Encode(tc.frame)
				require.NoError(t, err)
				if *update {
					require.NoError(t, os.WriteFile(path, got, 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run: go test ./protocol -run Golden -update")
				assert.Equal(t, want, got, "Go value -> encode must equal the golden bytes")

				decoded, err := c.Decode(want)
				require.NoError(t, err)
				assert.Equal(t, tc.frame, decoded, "golden -> decode must equal the Go value")
				again, err := c.Encode(decoded)
				require.NoError(t, err)
				assert.Equal(t, want, again, "golden -> decode -> encode must be byte-exact")
			})
		}
	}
}

// TestGoldenCoversEveryType keeps the golden set complete.
func TestGoldenCoversEveryType(t *testing.T) {
	seen := map[protocol.FrameType]bool{}
	for _, tc := range goldenCases() {
		seen[tc.frame.Type] = true
	}
	for _, ft := range allTypes {
		assert.True(t, seen[ft], "no golden frame of type %q", ft)
	}
}

var allTypes = []protocol.FrameType{
	protocol.TypeSubscribe, protocol.TypeUnsubscribe, protocol.TypePublish, protocol.TypeAck,
	protocol.TypeNak, protocol.TypeTerm, protocol.TypeProgress, protocol.TypePing, protocol.TypeAuth,
	protocol.TypeHello, protocol.TypeOK, protocol.TypeError, protocol.TypeMsg,
	protocol.TypePong, protocol.TypeClosed,
}
