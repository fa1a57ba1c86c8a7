package httpmq

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/httpmq/httpmq/protocol"
)

// DataClient calls the REST dataplane (/v1/data/…, by default on
// 127.0.0.1:3001): publish, push-subscribe, acknowledge. It is safe for
// concurrent use. For many subscriptions and inline acks over one
// connection, use a [Session] instead.
type DataClient struct{ rest }

// NewDataClient returns a client for the REST dataplane at baseURL
// ("http://127.0.0.1:3001"). opts may be nil.
func NewDataClient(baseURL string, opts *ClientOptions) *DataClient {
	return &DataClient{newRest(baseURL, opts)}
}

// Request headers of a REST publish.
const (
	headerEncoding = "Httpmq-Body-Encoding"
	headerMsgID    = "Httpmq-Msg-Id"
	headerPrefix   = "Httpmq-Header-"
)

// Publish publishes data to subject and returns where JetStream stored
// it. The body goes raw unless opts.Base64 is set. HTTP header names are
// case-insensitive, so header names arrive in canonical form
// ("x-trace" becomes "X-Trace").
func (c *DataClient) Publish(ctx context.Context, subject string, data []byte, opts *PublishOptions) (PubAck, error) {
	var o PublishOptions
	if opts != nil {
		o = *opts
	}
	body := data
	encoding := "raw"
	if o.Base64 {
		body = []byte(base64.StdEncoding.EncodeToString(data))
		encoding = "base64"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/data/subject/"+esc(subject), bytes.NewReader(body))
	if err != nil {
		return PubAck{}, fmt.Errorf("httpmq: %w", err)
	}
	if err := c.setHeader(req); err != nil {
		return PubAck{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(headerEncoding, encoding)
	if o.MsgID != "" {
		req.Header.Set(headerMsgID, o.MsgID)
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(headerPrefix+k, v)
		}
	}
	var a protocol.PublishResult
	if err := c.do(req, &a); err != nil {
		return PubAck{}, err
	}
	return PubAck{Stream: a.Stream, Sequence: a.Sequence, Duplicate: a.Duplicate}, nil
}

// BatchMessage is one message of [DataClient.PublishBatch].
type BatchMessage struct {
	Subject string
	Data    []byte
	// MsgID and Header as in [PublishOptions]. Header names keep their
	// case.
	MsgID  string
	Header Header
}

// BatchResult is the outcome of one message of a batch: where JetStream
// stored it, or in Err (an *APIError) why it was not published, as a
// single publish of it would have failed.
type BatchResult struct {
	PubAck
	Err error
}

// PublishBatch publishes msgs in one request (POST /v1/data/publish) and
// returns one result per message, in order. Each message is authorized,
// checked and published as a single publish would be, without waiting
// for the others: one can fail while the rest are stored. The error is
// about the request as a whole: refused before anything was published
// (an *APIError: too many messages or bytes for the server's limits,
// whose defaults are 1,000 messages and 4 MiB; not allowed; no
// messages), or lost on the way, when any of the messages may have been
// stored (retry with message ids to be safe).
func (c *DataClient) PublishBatch(ctx context.Context, msgs []BatchMessage) ([]BatchResult, error) {
	body := make([]protocol.BatchMessage, len(msgs))
	for i, m := range msgs {
		body[i] = protocol.BatchMessage{Subject: m.Subject, MsgID: m.MsgID, Headers: m.Header}
		if len(m.Data) > 0 {
			body[i].Data = base64.StdEncoding.EncodeToString(m.Data)
		}
	}
	var answer struct {
		protocol.BatchPublishResult
		RequestID string `json:"request_id"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/data/publish", body, &answer); err != nil {
		return nil, err
	}
	if len(answer.Results) != len(msgs) {
		return nil, fmt.Errorf("httpmq: batch publish: %d results for %d messages", len(answer.Results), len(msgs))
	}
	out := make([]BatchResult, len(msgs))
	for i, r := range answer.Results {
		if !r.Success {
			out[i].Err = apiError(0, answer.RequestID, r.Error)
			continue
		}
		out[i].PubAck = PubAck{Stream: r.Stream, Sequence: r.Sequence, Duplicate: r.Duplicate}
	}
	return out, nil
}

// Ack acknowledges (or naks, terms, extends) a delivered message by its
// numbers. It works on any instance, whichever delivered the message.
func (c *DataClient) Ack(ctx context.Context, r AckRequest) error {
	if r.Kind == "" {
		r.Kind = KindAck
	}
	path := consumerDataPath(r.Stream, r.Consumer) + "/" + string(r.Kind)
	return c.call(ctx, http.MethodPost, path, protocol.AckRequest{
		Consumer: r.ConsumerSeq, Stream: r.StreamSeq, Delay: protocol.Duration(r.Delay),
		Deliveries: r.Deliveries, Reason: r.Reason,
	}, nil)
}

func (c *DataClient) ack(ctx context.Context, r AckRequest) error { return c.Ack(ctx, r) }

func (c *DataClient) ackNoWait(r AckRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Ack(ctx, r)
}

func consumerDataPath(stream, consumer string) string {
	return "/v1/data/stream/" + esc(stream) + "/consumer/" + esc(consumer)
}

// restDelivery is one NDJSON line of a subscription stream: a delivery,
// or the final line (success false, the error).
type restDelivery struct {
	protocol.Delivery
	Error *protocol.Error `json:"error"`
}

// Subscribe push-subscribes to a consumer: the server streams its
// messages (NDJSON) until ctx ends, the subscription is closed, or the
// server ends it. Errors found before the stream starts (no such
// consumer, consumer busy…) are returned here as *[APIError].
func (c *DataClient) Subscribe(ctx context.Context, stream, consumer string, opts *SubscribeOptions) (*Subscription, error) {
	sub := newSubscription(stream, consumer, opts)
	q := url.Values{}
	if sub.opts.Filter != "" {
		q.Set("subject_name", sub.opts.Filter)
	}
	if sub.opts.Group != "" {
		q.Set("delivery_group", sub.opts.Group)
	}
	if sub.opts.MaxInflight > 0 {
		q.Set("max_msg_inflight", strconv.Itoa(sub.opts.MaxInflight))
	}
	path := consumerDataPath(stream, consumer)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	sctx, cancel := context.WithCancel(ctx)
	req, err := c.newRequest(sctx, http.MethodGet, path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("httpmq: subscribe: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status says enough if this fails
		resp.Body.Close()
		cancel()
		if err := decodeAnswer(resp, raw, nil); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("httpmq: subscribe: unexpected HTTP %d", resp.StatusCode)
	}
	finished := make(chan struct{})
	sub.stop = func(ctx context.Context) error {
		cancel()
		select {
		case <-finished:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		defer close(finished)
		defer resp.Body.Close()
		err := c.readStream(sub, resp.Body)
		if sctx.Err() != nil {
			err = sctx.Err() // cancelled by the caller (or Unsubscribe, which ended sub first)
		}
		sub.end(err, false)
		cancel()
	}()
	return sub, nil
}

// readStream reads NDJSON deliveries into sub until the stream ends, and
// returns why.
func (c *DataClient) readStream(sub *Subscription, body io.Reader) error {
	br := bufio.NewReaderSize(body, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSpace(line) // heartbeats are blanks
		if len(line) > 0 {
			var d restDelivery
			if jerr := json.Unmarshal(line, &d); jerr != nil {
				return fmt.Errorf("httpmq: subscription stream: %w", jerr)
			}
			if !d.Success {
				return apiError(0, d.RequestID, d.Error)
			}
			if !sub.push(&Message{
				Subject: d.Subject, Stream: d.Stream, Consumer: d.Consumer,
				StreamSeq: d.Sequence.Stream, ConsumerSeq: d.Sequence.Consumer,
				Deliveries: d.Deliveries, Pending: d.Pending, Time: d.Timestamp,
				Header: d.Headers, Data: d.B64Msg, acker: c,
			}) {
				return nil // ended by the caller
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return fmt.Errorf("httpmq: subscription stream: %w", err)
		}
	}
}
