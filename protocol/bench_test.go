package protocol_test

import (
	"bytes"
	"testing"

	"github.com/httpmq/httpmq/protocol"
)

func benchMsg() *protocol.Frame {
	return &protocol.Frame{
		Type: protocol.TypeMsg, Sub: "orders", Subject: "orders.eu.created", Stream: "ORDERS",
		Consumer: "worker", StreamSeq: 1042, ConsumerSeq: 17, Deliveries: 1, Pending: 3,
		Time: 1767225600123456789, Data: bytes.Repeat([]byte{'x'}, 128),
	}
}

func BenchmarkEncodeMsg(b *testing.B) {
	for _, c := range codecs() {
		b.Run(benchName(c), func(b *testing.B) {
			f := benchMsg()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encode(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeMsg(b *testing.B) {
	for _, c := range codecs() {
		b.Run(benchName(c), func(b *testing.B) {
			enc, err := c.Encode(benchMsg())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchName(c protocol.Codec) string {
	if c.Binary() {
		return "msgpack"
	}
	return "json"
}
