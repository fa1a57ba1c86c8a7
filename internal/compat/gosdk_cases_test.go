package compat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/testenv"
)

// The cases follow the Go SDK's own tests (management/*_test.go,
// dataplane/subscribe_test.go), which pass against the original server,
// and add the error answers they only check loosely.

func TestGoSDKManagement(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			require.NoError(t, sdk.ready(ctx, sdk.mgmt+"/v1/admin"))

			err := sdk.createConsumer(ctx, uuid(), sdkConsumerParam{Name: uuid(), Mode: "push", MaxInflight: 2, FilterSubject: ptr(uuid())})
			requireAPIError(t, err, http.StatusNotFound, "stream_not_found")

			stream, base := uuid(), uuid()
			subjects := []string{base + ".a", base + ".b"}
			param := sdkStreamParam{Name: stream, Subjects: &subjects, MaxAge: ptr(int64(10 * time.Minute))}
			require.NoError(t, sdk.createStream(ctx, param))
			require.NoError(t, sdk.createStream(ctx, param), "the same stream again")
			err = sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &[]string{uuid()}})
			requireAPIError(t, err, http.StatusConflict, "stream_exists")
			err = sdk.createStream(ctx, sdkStreamParam{Name: "a.b"})
			requireAPIError(t, err, http.StatusBadRequest, "invalid_name")

			info, err := sdk.getStream(ctx, stream)
			require.NoError(t, err)
			assert.Equal(t, stream, info.Config.Name)
			assert.Equal(t, subjects, *info.Config.Subjects)
			assert.Equal(t, int64(10*time.Minute), info.Config.MaxAge)
			assert.Equal(t, int64(-1), info.Config.MaxMsgs)
			assert.Equal(t, int64(-1), info.Config.MaxConsumers)
			assert.NotEmpty(t, info.Created)

			consumer := uuid()
			cp := sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 1, FilterSubject: ptr(subjects[0])}
			require.NoError(t, sdk.createConsumer(ctx, stream, cp))
			require.NoError(t, sdk.createConsumer(ctx, stream, cp), "the same consumer again")
			other := cp
			other.FilterSubject = ptr(subjects[1])
			err = sdk.createConsumer(ctx, stream, other)
			requireAPIError(t, err, http.StatusConflict, "consumer_exists")
			err = sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: uuid(), Mode: "push", MaxInflight: 1, FilterSubject: ptr(uuid())})
			e := requireAPIError(t, err, http.StatusBadRequest, "filter_not_in_stream")
			assert.Contains(t, *e.Detail, base+".a, "+base+".b", "the detail lists the stream's subjects")
			err = sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: uuid(), Mode: "sideways", MaxInflight: 1})
			requireAPIError(t, err, http.StatusBadRequest, "bad_request")
			wildcard := uuid()
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: wildcard, Mode: "push", MaxInflight: 2, FilterSubject: ptr(base + ".*")}))

			ci, err := sdk.getConsumer(ctx, stream, consumer)
			require.NoError(t, err)
			assert.Equal(t, consumer, ci.Name)
			assert.Equal(t, stream, ci.StreamName)
			assert.Equal(t, int64(1), *ci.Config.MaxAckPending)
			assert.Equal(t, subjects[0], *ci.Config.FilterSubject)
			assert.Equal(t, int64(30*time.Second), ci.Config.AckWait)
			all, err := sdk.listConsumers(ctx, stream)
			require.NoError(t, err)
			require.Len(t, all, 2)
			assert.Equal(t, int64(2), *all[wildcard].Config.MaxAckPending)
			assert.Equal(t, base+".*", *all[wildcard].Config.FilterSubject)
			_, err = sdk.getConsumer(ctx, stream, uuid())
			requireAPIError(t, err, http.StatusNotFound, "consumer_not_found")

			streams, err := sdk.listStreams(ctx)
			require.NoError(t, err)
			assert.Contains(t, streams, stream)
			more := append(subjects, base+".c")
			require.NoError(t, sdk.changeSubjects(ctx, stream, more))
			require.NoError(t, sdk.updateLimits(ctx, stream, sdkStreamLimits{MaxMsgs: ptr(int64(100))}))
			info, err = sdk.getStream(ctx, stream)
			require.NoError(t, err)
			assert.Equal(t, more, *info.Config.Subjects)
			assert.Equal(t, int64(100), info.Config.MaxMsgs)
			err = sdk.changeSubjects(ctx, uuid(), more)
			requireAPIError(t, err, http.StatusNotFound, "stream_not_found")

			require.NoError(t, sdk.deleteConsumer(ctx, stream, consumer))
			require.NoError(t, sdk.deleteConsumer(ctx, stream, wildcard))
			all, err = sdk.listConsumers(ctx, stream)
			require.NoError(t, err)
			assert.Empty(t, all)
			err = sdk.deleteConsumer(ctx, stream, consumer)
			requireAPIError(t, err, http.StatusNotFound, "consumer_not_found")
			require.NoError(t, sdk.deleteStream(ctx, stream))
			_, err = sdk.getStream(ctx, stream)
			requireAPIError(t, err, http.StatusNotFound, "stream_not_found")
			err = sdk.deleteStream(ctx, stream)
			requireAPIError(t, err, http.StatusNotFound, "stream_not_found")
		})
	}
}

func TestGoSDKPublishSubscribeAck(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			require.NoError(t, sdk.ready(ctx, sdk.data+"/v1/data"))
			stream, consumer, wildcard, base := uuid(), uuid(), uuid(), uuid()
			subjects := []string{base + ".a", base + ".b"}
			require.NoError(t, sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &subjects}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 2, FilterSubject: ptr(subjects[0])}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: wildcard, Mode: "push", MaxInflight: 2, FilterSubject: ptr(base + ".*")}))

			sub := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subjects[0]})
			msg := uuid()
			require.NoError(t, sdk.publish(ctx, subjects[0], []byte(msg)))
			m := sub.next(t)
			assert.Equal(t, msg, string(m.B64Msg))
			assert.Equal(t, stream, m.Stream)
			assert.Equal(t, consumer, m.Consumer)
			assert.Equal(t, subjects[0], m.Subject)
			assert.NotEmpty(t, m.RequestID)
			require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer))

			// The wildcard consumer gets every subject, each message with
			// the subject it was published to.
			all := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: wildcard, SubjectFilter: base + ".*", MaxMsgInflight: ptr(2)})
			m = all.next(t)
			assert.Equal(t, msg, string(m.B64Msg))
			require.NoError(t, sdk.sendACK(ctx, stream, wildcard, m.Sequence.Stream, m.Sequence.Consumer))
			for i, subject := range subjects {
				msg := "test-message-" + uuid()
				require.NoError(t, sdk.publish(ctx, subject, []byte(msg)))
				m := all.next(t)
				assert.Equal(t, msg, string(m.B64Msg), "message %d", i)
				assert.Equal(t, subject, m.Subject)
				require.NoError(t, sdk.sendACK(ctx, stream, wildcard, m.Sequence.Stream, m.Sequence.Consumer))
			}
			// A second subscriber of a push consumer without group shares
			// it: each message goes to one of them, once (the wildcard
			// consumer, read no more, gets them too).
			second := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subjects[0]})
			sent := map[string]bool{}
			for range 4 {
				m := uuid()
				sent[m] = true
				require.NoError(t, sdk.publish(ctx, subjects[0], []byte(m)))
			}
			for len(sent) > 0 {
				var m sdkDataMessage
				select {
				case m = <-sub.msgs:
				case m = <-second.msgs:
				case <-ctx.Done():
					t.Fatal("a message did not arrive")
				}
				require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer))
				if strings.HasPrefix(string(m.B64Msg), "test-message-") {
					continue // published by the wildcard checks above
				}
				require.True(t, sent[string(m.B64Msg)], "unexpected or repeated %q", m.B64Msg)
				delete(sent, string(m.B64Msg))
			}
			require.ErrorIs(t, second.stop(t), context.Canceled)
			require.ErrorIs(t, sub.stop(t), context.Canceled, "leaving ends PushSubscribe with the caller's cancellation")
			require.ErrorIs(t, all.stop(t), context.Canceled)

			// Errors, each the SDK's API error with its status.
			err := sdk.publish(ctx, uuid(), []byte("x"))
			requireAPIError(t, err, http.StatusNotFound, "no_stream_for_subject")
			err = sdk.sendACK(ctx, stream, consumer, 99, 99)
			requireAPIError(t, err, http.StatusConflict, "ack_not_pending")
			err = sdk.sendACK(ctx, stream, uuid(), 1, 1)
			requireAPIError(t, err, http.StatusNotFound, "consumer_not_found")
			missing := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: uuid(), SubjectFilter: subjects[0]})
			requireAPIError(t, missing.end(t), http.StatusNotFound, "consumer_not_found")
			missing = subscribe(t, sdk, sdkSubscribeParams{Stream: uuid(), Consumer: consumer, SubjectFilter: subjects[0]})
			requireAPIError(t, missing.end(t), http.StatusNotFound, "stream_not_found")

			// A subscription the server ends: its last line is an error the
			// SDK decodes, with the status of the stream (200) and the
			// error's own code.
			doomed := uuid()
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: doomed, Mode: "push", MaxInflight: 1, FilterSubject: ptr(subjects[1])}))
			ends := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: doomed, SubjectFilter: subjects[1]})
			assert.Equal(t, subjects[1], ends.next(t).Subject, "the stream is on")
			require.NoError(t, sdk.deleteConsumer(ctx, stream, doomed))
			e := requireAPIError(t, ends.end(t), http.StatusOK, "consumer_not_found")
			assert.EqualValues(t, http.StatusNotFound, e.Code, "the final line's code")
		})
	}
}

func TestGoSDKRedelivery(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			stream, consumer, subject := uuid(), uuid(), uuid()
			require.NoError(t, sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &[]string{subject}}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 1,
				AckWait: ptr(int64(time.Second))}))
			sub := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subject})
			require.NoError(t, sdk.publish(ctx, subject, []byte("again")))
			first := sub.next(t)
			again := sub.next(t) // not acked: back after the ack wait
			assert.Equal(t, "again", string(again.B64Msg))
			assert.Equal(t, first.Sequence.Stream, again.Sequence.Stream, "the same message")
			assert.Equal(t, first.Sequence.Consumer+1, again.Sequence.Consumer, "a new delivery")
			ci, err := sdk.getConsumer(ctx, stream, consumer)
			require.NoError(t, err)
			assert.EqualValues(t, 1, ci.NumRedelivered)
			require.NoError(t, sdk.sendACK(ctx, stream, consumer, again.Sequence.Stream, again.Sequence.Consumer))
			require.Eventually(t, func() bool {
				ci, err := sdk.getConsumer(ctx, stream, consumer)
				return err == nil && ci.NumAckPending == 0
			}, waitTimeout, 10*time.Millisecond, "the ack counted")
		})
	}
}

func TestGoSDKDeliveryGroup(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			stream, consumer, subject, group := uuid(), uuid(), uuid(), uuid()
			require.NoError(t, sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &[]string{subject}}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 10, DeliveryGroup: &group}))
			p := sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subject, MaxMsgInflight: ptr(5), DeliveryGroup: &group}
			subs := []*subscription{subscribe(t, sdk, p), subscribe(t, sdk, p)}
			wrong := p
			wrong.DeliveryGroup = ptr(uuid())
			requireAPIError(t, subscribe(t, sdk, wrong).end(t), http.StatusConflict, "deliver_group_mismatch")

			const n = 10
			for i := range n {
				require.NoError(t, sdk.publish(ctx, subject, []byte{byte('a' + i)}))
			}
			got := map[int64]bool{}
			deadline := time.After(waitTimeout)
			for len(got) < n {
				var m sdkDataMessage
				select {
				case m = <-subs[0].msgs:
				case m = <-subs[1].msgs:
				case err := <-subs[0].done:
					t.Fatalf("a group subscriber ended: %v", err)
				case err := <-subs[1].done:
					t.Fatalf("a group subscriber ended: %v", err)
				case <-deadline:
					t.Fatalf("%d of %d messages within %s", len(got), n, waitTimeout)
				}
				got[m.Sequence.Stream] = true
				require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer))
			}
			for _, s := range subs {
				require.ErrorIs(t, s.stop(t), context.Canceled)
			}
		})
	}
}

// TestGoSDKAckIsIdempotent: the Go SDK's own subscribe test acks a
// message twice (the second time naming another consumer whose delivery
// had the same sequences) and asserts no error; the original answered 200.
func TestGoSDKAckIsIdempotent(t *testing.T) {
	t.Skip("needs delivery-core ack idempotence (issue 11): an ack of an already acked delivery answers 200 with duplicate:true")
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			stream, consumer, subject := uuid(), uuid(), uuid()
			require.NoError(t, sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &[]string{subject}}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 1,
				AckWait: ptr(int64(time.Second))}))
			sub := subscribe(t, sdk, sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subject})
			require.NoError(t, sdk.publish(ctx, subject, []byte("once")))
			m := sub.next(t)
			require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer))
			require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer), "the same ack again")

			// An ack that did not count stays an error: the delivery was
			// redelivered under a newer consumer sequence.
			require.NoError(t, sdk.publish(ctx, subject, []byte("twice")))
			first := sub.next(t)
			again := sub.next(t)
			require.NoError(t, sdk.sendACK(ctx, stream, consumer, again.Sequence.Stream, again.Sequence.Consumer))
			err := sdk.sendACK(ctx, stream, consumer, first.Sequence.Stream, first.Sequence.Consumer)
			requireAPIError(t, err, http.StatusConflict, "ack_not_pending")
		})
	}
}

// TestGoSDKQuickResubscribe: the Go SDK's own subscribe test leaves a push
// consumer and subscribes to it again at once; a subscriber that left must
// have released the consumer (or the subscribe waits for it, bounded).
func TestGoSDKQuickResubscribe(t *testing.T) {
	t.Skip("needs delivery-core consumer release (issue 11): a push consumer is free again as soon as its subscriber left")
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			sdk := newGoSDK(start(t, tr))
			ctx := testenv.Context(t)
			stream, consumer, subject := uuid(), uuid(), uuid()
			require.NoError(t, sdk.createStream(ctx, sdkStreamParam{Name: stream, Subjects: &[]string{subject}}))
			require.NoError(t, sdk.createConsumer(ctx, stream, sdkConsumerParam{Name: consumer, Mode: "push", MaxInflight: 1}))
			p := sdkSubscribeParams{Stream: stream, Consumer: consumer, SubjectFilter: subject}
			for i := range 30 {
				sub := subscribe(t, sdk, p)
				msg := []byte{byte('a' + i%26)}
				require.NoError(t, sdk.publish(ctx, subject, msg))
				m := sub.next(t)
				require.Equal(t, msg, m.B64Msg, "round %d", i)
				require.NoError(t, sdk.sendACK(ctx, stream, consumer, m.Sequence.Stream, m.Sequence.Consumer))
				require.ErrorIs(t, sub.stop(t), context.Canceled, "round %d", i)
			}
		})
	}
}
