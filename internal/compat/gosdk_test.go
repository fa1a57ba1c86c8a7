package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/testenv"
)

// The original Go SDK (github.com/alwitt/httpmq-go) is a client generated
// by OpenAPI Generator from the original httpmq's specification, plus thin
// wrappers (management.*, dataplane.*). What follows re-enacts it: the
// sdk* types have the field names, JSON tags and Go types of its generated
// models (an error's code is an int32, sequences int64, stream state
// int32, optional fields pointers), and goSDK builds each request the way
// the generated client does and reads each answer the way it and the
// wrappers do.

// sdkErrorDetail is the SDK's error model (ApisErrorDetail, later
// GoutilsErrorDetail).
type sdkErrorDetail struct {
	Code    int32   `json:"code"`
	Detail  *string `json:"detail,omitempty"`
	Message *string `json:"message,omitempty"`
}

// sdkResponse is the SDK's base answer (ApisStandardResponse, later
// GoutilsRestAPIBaseResponse), embedded by the other answers.
type sdkResponse struct {
	Error     *sdkErrorDetail `json:"error,omitempty"`
	RequestID string          `json:"request_id"`
	Success   bool            `json:"success"`
}

func (r *sdkResponse) base() *sdkResponse { return r }

// sdkAnswer is any answer model.
type sdkAnswer interface{ base() *sdkResponse }

type sdkStreamConfig struct {
	Description       *string   `json:"description,omitempty"`
	MaxAge            int64     `json:"max_age"`
	MaxBytes          int64     `json:"max_bytes"`
	MaxConsumers      int64     `json:"max_consumers"`
	MaxMsgSize        *int64    `json:"max_msg_size,omitempty"`
	MaxMsgs           int64     `json:"max_msgs"`
	MaxMsgsPerSubject int64     `json:"max_msgs_per_subject"`
	Name              string    `json:"name"`
	Subjects          *[]string `json:"subjects,omitempty"`
}

type sdkStreamState struct {
	Bytes         int32  `json:"bytes"`
	ConsumerCount int32  `json:"consumer_count"`
	FirstSeq      int32  `json:"first_seq"`
	FirstTs       string `json:"first_ts"`
	LastSeq       int32  `json:"last_seq"`
	LastTs        string `json:"last_ts"`
	Messages      int32  `json:"messages"`
}

type sdkStreamInfo struct {
	Config  sdkStreamConfig `json:"config"`
	Created string          `json:"created"`
	State   sdkStreamState  `json:"state"`
}

type sdkSequenceInfo struct {
	ConsumerSeq int64 `json:"consumer_seq"`
	StreamSeq   int64 `json:"stream_seq"`
}

type sdkConsumerConfig struct {
	AckWait        int64   `json:"ack_wait"`
	DeliverGroup   *string `json:"deliver_group,omitempty"`
	DeliverSubject *string `json:"deliver_subject,omitempty"`
	FilterSubject  *string `json:"filter_subject,omitempty"`
	MaxAckPending  *int64  `json:"max_ack_pending,omitempty"`
	MaxDeliver     *int64  `json:"max_deliver,omitempty"`
	MaxWaiting     *int64  `json:"max_waiting,omitempty"`
	Notes          *string `json:"notes,omitempty"`
}

type sdkConsumerInfo struct {
	AckFloor       sdkSequenceInfo   `json:"ack_floor"`
	Config         sdkConsumerConfig `json:"config"`
	Created        string            `json:"created"`
	Delivered      sdkSequenceInfo   `json:"delivered"`
	Name           string            `json:"name"`
	NumAckPending  int32             `json:"num_ack_pending"`
	NumPending     int32             `json:"num_pending"`
	NumRedelivered int32             `json:"num_redelivered"`
	NumWaiting     int32             `json:"num_waiting"`
	StreamName     string            `json:"stream_name"`
}

type sdkOneStream struct {
	sdkResponse
	Stream *sdkStreamInfo `json:"stream,omitempty"`
}

type sdkAllStreams struct {
	sdkResponse
	Streams *map[string]sdkStreamInfo `json:"streams,omitempty"`
}

type sdkOneConsumer struct {
	sdkResponse
	Consumer *sdkConsumerInfo `json:"consumer,omitempty"`
}

type sdkAllConsumers struct {
	sdkResponse
	Consumers *map[string]sdkConsumerInfo `json:"consumers,omitempty"`
}

// sdkDataMessage is one line of a subscription stream
// (ApisAPIRestRespDataMessage); the SDK decodes every line into it.
type sdkDataMessage struct {
	B64Msg    []byte          `json:"b64_msg"`
	Consumer  string          `json:"consumer"`
	Error     *sdkErrorDetail `json:"error,omitempty"`
	RequestID string          `json:"request_id"`
	Sequence  struct {
		Consumer int64 `json:"consumer"`
		Stream   int64 `json:"stream"`
	} `json:"sequence"`
	Stream  string `json:"stream"`
	Subject string `json:"subject"`
	Success bool   `json:"success"`
}

// Request models. The generated models marshal through a map, so their
// keys come out sorted; these structs declare their fields in that order
// to produce the same bytes (HTML-escaped, as encoding/json does: a
// subject "a.>" goes out as "a.\u003e").

type sdkStreamParam struct {
	MaxAge            *int64    `json:"max_age,omitempty"`
	MaxBytes          *int64    `json:"max_bytes,omitempty"`
	MaxConsumers      *int64    `json:"max_consumers,omitempty"`
	MaxMsgSize        *int64    `json:"max_msg_size,omitempty"`
	MaxMsgs           *int64    `json:"max_msgs,omitempty"`
	MaxMsgsPerSubject *int64    `json:"max_msgs_per_subject,omitempty"`
	Name              string    `json:"name"`
	Subjects          *[]string `json:"subjects,omitempty"`
}

type sdkStreamLimits struct {
	MaxAge            *int64 `json:"max_age,omitempty"`
	MaxBytes          *int64 `json:"max_bytes,omitempty"`
	MaxConsumers      *int64 `json:"max_consumers,omitempty"`
	MaxMsgSize        *int64 `json:"max_msg_size,omitempty"`
	MaxMsgs           *int64 `json:"max_msgs,omitempty"`
	MaxMsgsPerSubject *int64 `json:"max_msgs_per_subject,omitempty"`
}

type sdkStreamSubjects struct {
	Subjects []string `json:"subjects"`
}

type sdkConsumerParam struct {
	AckWait       *int64  `json:"ack_wait,omitempty"`
	DeliveryGroup *string `json:"delivery_group,omitempty"`
	FilterSubject *string `json:"filter_subject,omitempty"`
	MaxInflight   int64   `json:"max_inflight"`
	MaxRetry      *int64  `json:"max_retry,omitempty"`
	Mode          string  `json:"mode"`
	Name          string  `json:"name"`
	Notes         *string `json:"notes,omitempty"`
}

type sdkAckSeqNum struct {
	Consumer int64 `json:"consumer"`
	Stream   int64 `json:"stream"`
}

// sdkAPIError is the SDK's HttpmqAPIError: what its wrappers return when
// the server refused, built from the decoded error model. Code and raw
// are for the tests' assertions.
type sdkAPIError struct {
	RequestID  string
	StatusCode int
	Message    *string
	Detail     *string
	Code       int32
	raw        []byte
}

func (e *sdkAPIError) Error() string {
	s := fmt.Sprintf("REQ '%s' ==> RESP %d", e.RequestID, e.StatusCode)
	if e.Message != nil {
		s += ", " + *e.Message
	}
	if e.Detail != nil {
		s += ": " + *e.Detail
	}
	return s
}

// reason is httpmq's error.reason of the answer or line (not in the
// SDK's model).
func (e *sdkAPIError) reason() string {
	var a struct {
		Error struct{ Reason string } `json:"error"`
	}
	_ = json.Unmarshal(e.raw, &a)
	return a.Error.Reason
}

func newSDKAPIError(requestID string, status int, raw []byte, d *sdkErrorDetail) *sdkAPIError {
	e := &sdkAPIError{RequestID: requestID, StatusCode: status, raw: raw}
	if d != nil {
		e.Message, e.Detail, e.Code = d.Message, d.Detail, d.Code
	}
	return e
}

const (
	sdkUserAgent       = "OpenAPI-Generator/1.0.0/go" // the generated configuration's default
	sdkRequestIDHeader = "Httpmq-Request-ID"
)

// jsonContent is the generated client's test for a JSON answer.
var jsonContent = regexp.MustCompile(`(?i:(?:application|text)/(?:vnd\.[^;]+\+)?json)`)

// goSDK is the Go SDK pointed at one httpmq (its management and dataplane
// base URLs), with the caller's http.Client as the SDK takes it.
type goSDK struct {
	hc   *http.Client
	mgmt string
	data string
}

func newGoSDK(h *httpmq) *goSDK {
	return &goSDK{hc: h.mgmt.Client, mgmt: h.mgmt.URL, data: h.data.URL}
}

// call sends one request as the generated client does and reads the answer
// as the SDK does: a 2xx body decodes into out, and an answer that is not
// a success becomes an *sdkAPIError. Where the SDK decodes error bodies
// only for some statuses, call decodes them all, strictly into its model:
// an error body that does not decode fails the SDK for those statuses, so
// it fails here for every status.
func (c *goSDK) call(ctx context.Context, method, u string, body any, out sdkAnswer) (string, error) {
	var rd io.Reader
	h := http.Header{}
	switch b := body.(type) {
	case nil:
	case string: // publish: the base64 text as is
		rd = bytes.NewBufferString(b)
		h.Set("Content-Type", "text/plain")
	default:
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(b); err != nil { // with its trailing newline
			return "", err
		}
		rd = &buf
		h.Set("Content-Type", "application/json")
	}
	h.Set("Accept", "application/json")
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return "", err
	}
	req.Header = h
	req.Header.Add("User-Agent", sdkUserAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	requestID := resp.Header.Get(sdkRequestIDHeader)
	if !jsonContent.MatchString(resp.Header.Get("Content-Type")) {
		return requestID, fmt.Errorf("undefined response type %q (HTTP %d): %s", resp.Header.Get("Content-Type"), resp.StatusCode, raw)
	}
	if resp.StatusCode >= 300 {
		var e sdkResponse
		if err := json.Unmarshal(raw, &e); err != nil {
			return requestID, fmt.Errorf("HTTP %d: the SDK cannot decode the error body: %w: %s", resp.StatusCode, err, raw)
		}
		return requestID, newSDKAPIError(requestID, resp.StatusCode, raw, e.Error)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return requestID, fmt.Errorf("HTTP %d: the SDK cannot decode the answer: %w: %s", resp.StatusCode, err, raw)
	}
	if b := out.base(); !b.Success {
		return requestID, newSDKAPIError(requestID, resp.StatusCode, raw, b.Error)
	}
	return requestID, nil
}

func (c *goSDK) ready(ctx context.Context, base string) error {
	_, err := c.call(ctx, http.MethodGet, base+"/ready", nil, &sdkResponse{})
	return err
}

func (c *goSDK) createStream(ctx context.Context, p sdkStreamParam) error {
	_, err := c.call(ctx, http.MethodPost, c.mgmt+"/v1/admin/stream", p, &sdkResponse{})
	return err
}

func (c *goSDK) listStreams(ctx context.Context) (map[string]sdkStreamInfo, error) {
	var out sdkAllStreams
	if _, err := c.call(ctx, http.MethodGet, c.mgmt+"/v1/admin/stream", nil, &out); err != nil {
		return nil, err
	}
	if out.Streams == nil {
		return nil, nil
	}
	return *out.Streams, nil
}

func (c *goSDK) getStream(ctx context.Context, stream string) (*sdkStreamInfo, error) {
	var out sdkOneStream
	_, err := c.call(ctx, http.MethodGet, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream), nil, &out)
	return out.Stream, err
}

func (c *goSDK) changeSubjects(ctx context.Context, stream string, subjects []string) error {
	_, err := c.call(ctx, http.MethodPut, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/subject",
		sdkStreamSubjects{Subjects: subjects}, &sdkResponse{})
	return err
}

func (c *goSDK) updateLimits(ctx context.Context, stream string, l sdkStreamLimits) error {
	_, err := c.call(ctx, http.MethodPut, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/limit", l, &sdkResponse{})
	return err
}

func (c *goSDK) deleteStream(ctx context.Context, stream string) error {
	_, err := c.call(ctx, http.MethodDelete, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream), nil, &sdkResponse{})
	return err
}

func (c *goSDK) createConsumer(ctx context.Context, stream string, p sdkConsumerParam) error {
	_, err := c.call(ctx, http.MethodPost, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/consumer", p, &sdkResponse{})
	return err
}

func (c *goSDK) listConsumers(ctx context.Context, stream string) (map[string]sdkConsumerInfo, error) {
	var out sdkAllConsumers
	if _, err := c.call(ctx, http.MethodGet, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/consumer", nil, &out); err != nil {
		return nil, err
	}
	if out.Consumers == nil {
		return nil, nil
	}
	return *out.Consumers, nil
}

func (c *goSDK) getConsumer(ctx context.Context, stream, consumer string) (*sdkConsumerInfo, error) {
	var out sdkOneConsumer
	_, err := c.call(ctx, http.MethodGet, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/consumer/"+url.PathEscape(consumer), nil, &out)
	return out.Consumer, err
}

func (c *goSDK) deleteConsumer(ctx context.Context, stream, consumer string) error {
	_, err := c.call(ctx, http.MethodDelete, c.mgmt+"/v1/admin/stream/"+url.PathEscape(stream)+"/consumer/"+url.PathEscape(consumer), nil, &sdkResponse{})
	return err
}

// publish base64-encodes the message, as the SDK's Publish does.
func (c *goSDK) publish(ctx context.Context, subject string, msg []byte) error {
	_, err := c.call(ctx, http.MethodPost, c.data+"/v1/data/subject/"+url.PathEscape(subject),
		base64.StdEncoding.EncodeToString(msg), &sdkResponse{})
	return err
}

func (c *goSDK) sendACK(ctx context.Context, stream, consumer string, streamSeq, consumerSeq int64) error {
	_, err := c.call(ctx, http.MethodPost, c.data+"/v1/data/stream/"+url.PathEscape(stream)+"/consumer/"+url.PathEscape(consumer)+"/ack",
		sdkAckSeqNum{Consumer: consumerSeq, Stream: streamSeq}, &sdkResponse{})
	return err
}

// sdkSubscribeParams are the SDK's PushSubscribeParam.
type sdkSubscribeParams struct {
	Stream, Consumer, SubjectFilter string
	MaxMsgInflight                  *int
	DeliveryGroup                   *string
}

// pushSubscribe is the SDK's PushSubscribe: a plain GET, then the body
// read line by line with a bufio.Scanner (default 64 KiB lines), each line
// decoded into the message model; a line with success false ends it with
// an *sdkAPIError carrying the stream's HTTP status, as the SDK builds it.
// It blocks until ctx ends, the stream ends or a line fails to decode.
// (The SDK blocks on a full channel; this gives up when ctx ends, so that
// no goroutine outlives a test.)
func (c *goSDK) pushSubscribe(ctx context.Context, p sdkSubscribeParams, msgs chan<- sdkDataMessage) (string, error) {
	q := url.Values{}
	q["subject_name"] = []string{p.SubjectFilter}
	if p.MaxMsgInflight != nil {
		q["max_msg_inflight"] = []string{fmt.Sprintf("%d", *p.MaxMsgInflight)}
	}
	if p.DeliveryGroup != nil {
		q["delivery_group"] = []string{*p.DeliveryGroup}
	}
	u := fmt.Sprintf("%s/v1/data/stream/%s/consumer/%s?%s", c.data, url.PathEscape(p.Stream), url.PathEscape(p.Consumer), q.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Add("User-Agent", sdkUserAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	requestID := ""
	sc := bufio.NewScanner(resp.Body)
	sc.Split(bufio.ScanLines)
	var readErr error
	for sc.Scan() {
		var m sdkDataMessage
		if readErr = json.Unmarshal(sc.Bytes(), &m); readErr != nil {
			readErr = fmt.Errorf("the SDK cannot decode the line: %w: %s", readErr, sc.Bytes())
			break
		}
		if requestID == "" {
			requestID = m.RequestID
		}
		if !m.Success {
			readErr = newSDKAPIError(requestID, resp.StatusCode, bytes.Clone(sc.Bytes()), m.Error)
			break
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return requestID, ctx.Err()
		}
	}
	if readErr == nil {
		readErr = sc.Err()
	}
	return requestID, readErr
}

// subscription runs pushSubscribe in a goroutine, as the SDK's own tests
// do, until stop or the end of the test.
type subscription struct {
	msgs   chan sdkDataMessage
	done   chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, c *goSDK, p sdkSubscribeParams) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(testenv.Context(t))
	s := &subscription{msgs: make(chan sdkDataMessage, 16), done: make(chan error, 1), cancel: cancel}
	go func() {
		_, err := c.pushSubscribe(ctx, p, s.msgs)
		s.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// waitTimeout bounds every wait for something the server sends.
const waitTimeout = 10 * time.Second

// next returns the next message, failing the test if the subscription
// ends or nothing comes in time.
func (s *subscription) next(t *testing.T) sdkDataMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case err := <-s.done:
		s.done <- err // keep it for stop and the cleanup
		t.Fatalf("the subscription ended: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("no message within", waitTimeout)
	}
	return sdkDataMessage{}
}

// end waits for the subscription to end by itself and returns why.
func (s *subscription) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(waitTimeout):
		t.Fatal("the subscription did not end within", waitTimeout)
		return nil
	}
}

// stop leaves, as a caller cancelling the SDK's context does, and returns
// what PushSubscribe returned.
//
// Cut while heartbeat blanks wait for the next line, the SDK's scanner
// hands them over as a last line, which it fails to decode: it then
// returns that error instead of the cancellation (the original server
// sent no heartbeats). Either is the SDK leaving, reported as the
// cancellation here.
func (s *subscription) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	err := s.end(t)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && strings.Contains(err.Error(), "unexpected end of JSON input") {
		return context.Canceled
	}
	return err
}

// requireAPIError asserts that err is the SDK's API error for status and
// that the error body decoded into its model: code is the status.
func requireAPIError(t *testing.T, err error, status int, reason string) *sdkAPIError {
	t.Helper()
	var e *sdkAPIError
	require.True(t, errors.As(err, &e), "want the SDK's API error, got %T: %v", err, err)
	require.Equal(t, status, e.StatusCode, "%v", e)
	if e.StatusCode != http.StatusOK { // a stream's final line: its own code
		require.EqualValues(t, status, e.Code, "error.code is the HTTP status: %s", e.raw)
	}
	require.NotNil(t, e.Message, "the SDK shows the message: %s", e.raw)
	require.NotEmpty(t, *e.Message)
	require.Equal(t, reason, e.reason(), "%s", e.raw)
	return e
}

// uuid is a random RFC 4122 version 4 id, the names the SDKs' own tests
// use for streams, consumers and subjects.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func ptr[T any](v T) *T { return &v }
