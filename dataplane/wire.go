package dataplane

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/httpmq/httpmq/protocol"
)

// The dataplane's JSON, defined once in package protocol for the server
// and the Go SDK.
type (
	// Delivery is one message on a subscription stream: one NDJSON line,
	// or the data of one SSE "msg" event.
	Delivery = protocol.Delivery
	// Sequence locates a delivered message in its stream and on its
	// consumer.
	Sequence = protocol.Sequence
	// PublishResult is the payload of a successful publish answer, beside
	// success and request_id.
	PublishResult = protocol.PublishResult
	// AckRequest is the body of the ack routes.
	AckRequest = protocol.AckRequest
	// Duration is a time.Duration in JSON as integer nanoseconds or as a
	// Go duration string ("1.5s").
	Duration = protocol.Duration
)

// delivery converts a msg frame into its wire form.
func delivery(requestID string, f *protocol.Frame) *Delivery {
	data := f.Data
	if data == nil {
		data = []byte{} // "" rather than null
	}
	return &Delivery{
		Success: true, RequestID: requestID,
		Stream: f.Stream, Subject: f.Subject, Consumer: f.Consumer,
		Sequence:   Sequence{Stream: f.StreamSeq, Consumer: f.ConsumerSeq},
		Deliveries: f.Deliveries, Pending: f.Pending, Timestamp: f.Timestamp().UTC(),
		Headers: f.Headers, B64Msg: data,
	}
}

// format writes the lines of a subscription stream in one of its two
// forms.
type format interface {
	contentType() string
	// message appends one delivery; v marshals to one line of JSON.
	message(buf *bytes.Buffer, id string, v any) error
	// heartbeat appends a heartbeat.
	heartbeat(buf *bytes.Buffer)
	// end appends the final error object.
	end(buf *bytes.Buffer, v any) error
}

// negotiate picks SSE when the client accepts text/event-stream, else
// NDJSON.
func negotiate(accept string) format {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
			return sse{}
		}
	}
	return ndjson{}
}

// appendJSON appends v as one line of JSON without the newline.
func appendJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// ndjson is one JSON object per line. A heartbeat is one space: JSON
// whitespace, which line readers see as leading blanks of the next line
// (each line stays one JSON text), so the original SDKs, which parse
// every line they read, never see an extra object or an empty line.
type ndjson struct{}

func (ndjson) contentType() string { return "application/x-ndjson" }

func (ndjson) message(buf *bytes.Buffer, _ string, v any) error {
	if err := appendJSON(buf, v); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return nil
}

func (ndjson) heartbeat(buf *bytes.Buffer) { buf.WriteByte(' ') }

func (f ndjson) end(buf *bytes.Buffer, v any) error { return f.message(buf, "", v) }

// sse is Server-Sent Events: "msg" events with the delivery as data and
// "stream.consumer" sequences as id, comments as heartbeats, and a final
// "error" event.
type sse struct{}

func (sse) contentType() string { return "text/event-stream" }

func (sse) message(buf *bytes.Buffer, id string, v any) error {
	buf.WriteString("id: ")
	buf.WriteString(id)
	buf.WriteString("\nevent: msg\ndata: ")
	if err := appendJSON(buf, v); err != nil {
		return err
	}
	buf.WriteString("\n\n")
	return nil
}

func (sse) heartbeat(buf *bytes.Buffer) { buf.WriteString(": heartbeat\n\n") }

func (sse) end(buf *bytes.Buffer, v any) error {
	buf.WriteString("event: error\ndata: ")
	if err := appendJSON(buf, v); err != nil {
		return err
	}
	buf.WriteString("\n\n")
	return nil
}
