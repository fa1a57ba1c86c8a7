package protocol_test

import (
	"fmt"

	"github.com/httpmq/httpmq/protocol"
)

func ExampleCodecFor() {
	codec, ok := protocol.CodecFor(protocol.SubprotocolJSON) // as negotiated
	if !ok {
		panic("unknown subprotocol")
	}
	b, err := codec.Encode(&protocol.Frame{
		Type:     protocol.TypeSubscribe,
		ID:       "1",
		Sub:      "orders",
		Stream:   "ORDERS",
		Consumer: "worker",
		Filter:   "orders.>",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	f, err := codec.Decode(b)
	if err != nil {
		panic(err)
	}
	if err := f.Validate(); err != nil {
		fmt.Println(protocol.ErrorFrame(f.ID, err).Reason)
	}
	fmt.Println(f.Type, f.Sub, f.Stream, f.Consumer)

	_, err = codec.Decode([]byte(`{"type":"subscribe","id":"2","max_inflight":"many"}`))
	reply := protocol.ErrorFrame("2", err)
	fmt.Println(reply.Status, reply.Reason, reply.Message)
	// Output:
	// {"type":"subscribe","id":"1","sub":"orders","stream":"ORDERS","consumer":"worker","filter":"orders.>"}
	// subscribe orders ORDERS worker
	// 400 malformed_frame malformed frame: field "max_inflight": string is not a valid integer
}
