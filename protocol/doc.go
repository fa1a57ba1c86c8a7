// Package protocol defines the httpmq session wire format: the frames a
// client and the server exchange over one WebSocket, their two encodings,
// and the error and close codes of the whole project. It does no I/O.
//
// Start with [Frame], one flat struct for every frame, told apart by
// [Frame.Type]. [CodecFor] maps a negotiated subprotocol
// ([SubprotocolJSON] or [SubprotocolMsgpack]) to a [Codec] that encodes
// frames into WebSocket message payloads and decodes them back; a session
// decodes with [Codec.Decode], then checks with [Frame.ValidateFromClient]
// (a server) or [Frame.Validate].
//
// Errors that clients see are [*Error] values with a stable [Code]; REST
// and sessions share the codes, and [Code.HTTPStatus] gives the REST
// status. On the wire an error is {"code":<HTTP status>,"reason":<Code>,
// "message":…}: "code" is an integer, as in the original httpmq. [ErrorOf]
// maps any Go error onto an *Error, and [ErrorFrame] and [ClosedFrame]
// build the frames. Decoding failures are [*DecodeError] (errors.Is
// [ErrMalformed] or [ErrUnknownFrameType]), which [AsError] also turns
// into an *Error. WebSocket close codes are [CloseCode].
//
// It also holds the JSON types of the REST APIs that the server and the
// Go SDK share ([Envelope], [StreamInfo], [Delivery], [BatchMessage]…),
// and [DecodeBatch], which reads a batch publish's body.
//
// The specification for implementers of other clients is
// docs/protocol.md; golden frames for both encodings are in
// testdata/protocol. Session policy in short: an undecodable message is
// answered with an error frame (malformed_frame) and the session goes on;
// a message of the wrong WebSocket kind (text on msgpack, binary on JSON)
// closes the session with [CloseProtocolError].
package protocol
