package dataplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// Delivery is one message on a subscription stream: one NDJSON line, or
// the data of one SSE "msg" event. The fields of the original httpmq come
// first; Subject is the subject the message was published to.
type Delivery struct {
	Success   bool   `json:"success"`
	RequestID string `json:"request_id"`
	Stream    string `json:"stream"`
	Subject   string `json:"subject"`
	Consumer  string `json:"consumer"`
	// Sequence is what an ack sends back.
	Sequence Sequence `json:"sequence"`
	// Deliveries counts deliveries of this message, this one included.
	Deliveries uint64 `json:"deliveries"`
	// Pending is how many messages the consumer held after this one.
	Pending uint64 `json:"pending"`
	// Timestamp is when the stream stored the message.
	Timestamp time.Time `json:"timestamp"`
	// Headers are the message's NATS headers.
	Headers map[string][]string `json:"headers,omitempty"`
	// B64Msg is the payload, standard base64 with padding. encoding/json
	// decodes it into a []byte.
	B64Msg []byte `json:"b64_msg"`
}

// Sequence locates a delivered message in its stream and on its consumer.
type Sequence struct {
	Stream   uint64 `json:"stream"`
	Consumer uint64 `json:"consumer"`
}

// PublishResult is the payload of a successful publish answer, beside
// success and request_id.
type PublishResult struct {
	Stream    string `json:"stream"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
}

// AckRequest is the body of the ack routes. Consumer and Stream are the
// sequence numbers the message arrived with ({"consumer":N,"stream":M},
// as in the original httpmq); the other fields are optional.
type AckRequest struct {
	Consumer uint64 `json:"consumer"`
	Stream   uint64 `json:"stream"`
	// Type is "ack" (default), "nak", "term" or "progress". On the nak,
	// term and progress routes it may be omitted, or must match.
	Type string `json:"type,omitempty"`
	// Delay before redelivery, for nak: nanoseconds, or a Go duration
	// string such as "5s".
	Delay Duration `json:"delay,omitempty"`
	// Deliveries is the delivery count the message arrived with; on a nak
	// it lets JetStream choose the right back-off step.
	Deliveries uint64 `json:"deliveries,omitempty"`
	// Reason is recorded with a term.
	Reason string `json:"reason,omitempty"`
}

// Duration is a time.Duration in JSON as integer nanoseconds (as
// JetStream writes durations) or as a Go duration string ("1.5s").
type Duration time.Duration

// MarshalJSON writes nanoseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(d), 10), nil
}

// UnmarshalJSON reads nanoseconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("delay: %w", err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("delay: expected integer nanoseconds or a duration string such as \"5s\"")
	}
	*d = Duration(n)
	return nil
}

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
