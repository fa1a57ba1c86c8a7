package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conditions callers can test with errors.Is. The wire error codes for
// them are chosen in one place, outside this package.
var (
	ErrStreamNotFound       = errors.New("stream not found")
	ErrConsumerNotFound     = errors.New("consumer not found")
	ErrMessageNotFound      = errors.New("message not found")
	ErrStreamExists         = errors.New("stream already exists with a different configuration")
	ErrConsumerExists       = errors.New("consumer already exists with a different configuration")
	ErrNoStreamForSubject   = errors.New("no stream captures this subject")
	ErrPayloadTooLarge      = errors.New("payload larger than the server's maximum")
	ErrInvalidName          = errors.New("invalid name")
	ErrInvalidSubject       = errors.New("invalid subject")
	ErrInvalidConfig        = errors.New("invalid configuration")
	ErrNotPending           = errors.New("message is not pending acknowledgement on this consumer")
	ErrConsumerBusy         = errors.New("push consumer without a delivery group already has a subscriber")
	ErrDeliverGroupMismatch = errors.New("delivery group does not match the consumer's")
	ErrFilterMismatch       = errors.New("subject is not covered by the consumer's filter")
	ErrFilterNotInStream    = errors.New("filter subject matches no subject of the stream")
	ErrUnavailable          = errors.New("NATS JetStream is unavailable")
	ErrSubscriptionClosed   = errors.New("subscription closed")
	// ErrClosed: the bridge was closed (the server is stopping).
	ErrClosed = errors.New("the bridge is closed")
	// ErrUnboundedConsumer: a JetStream push consumer without max ack
	// pending, whose deliveries nothing would bound.
	ErrUnboundedConsumer = errors.New("push consumer without max ack pending")
)

// refusals are JetStream API errors that come with status 500 but mean
// the request itself cannot be honoured (errors.json in nats-server).
var refusals = map[jetstream.ErrorCode]bool{
	10012: true, // consumer create error
	10028: true, // insufficient memory resources
	10047: true, // insufficient storage resources
	10049: true, // stream create error
	10052: true, // invalid stream config
	10053: true, // stream limits error
	10069: true, // stream update error
	10074: true, // replicas > 1 not supported in non-clustered mode
}

// publishRefusals are JetStream's refusals of one published message
// (errors.json in nats-server), by the condition they mean: the client's
// to fix, never worth retrying as is.
var publishRefusals = map[jetstream.ErrorCode]error{
	10060: ErrPreconditionFailed, // expected stream does not match
	10070: ErrPreconditionFailed, // wrong last msg ID: {id}
	10071: ErrPreconditionFailed, // wrong last sequence: {seq}
	10164: ErrPreconditionFailed, // wrong last sequence
	10054: ErrPayloadTooLarge,    // message size exceeds maximum allowed
	10097: ErrPayloadTooLarge,    // header size exceeds maximum allowed of 64k
	10109: ErrPublishRefused,     // invalid operation on sealed stream
	10111: ErrPublishRefused,     // {err}: rollup not permitted, rollup value invalid
	10165: ErrPublishRefused,     // invalid per-message TTL
	10166: ErrPublishRefused,     // per-message TTL is disabled
}

// classify maps an error from nats.go or the JetStream API onto this
// package's sentinels, keeping the original text for the human message.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, known := range known {
		if errors.Is(err, known) {
			return err // classified already
		}
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("%w: %w", ErrStreamNotFound, err)
	case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrConsumerDoesNotExist),
		errors.Is(err, jetstream.ErrConsumerDeleted):
		return fmt.Errorf("%w: %w", ErrConsumerNotFound, err)
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return fmt.Errorf("%w: %w", ErrMessageNotFound, err)
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		return fmt.Errorf("%w: %w", ErrStreamExists, err)
	case errors.Is(err, jetstream.ErrConsumerExists):
		return fmt.Errorf("%w: %w", ErrConsumerExists, err)
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		return fmt.Errorf("%w: %w", ErrNoStreamForSubject, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrPayloadTooLarge, err)
	case errors.Is(err, nats.ErrBadSubject), errors.Is(err, nats.ErrInvalidArg):
		return fmt.Errorf("%w: %w", ErrInvalidSubject, err)
	case errors.Is(err, jetstream.ErrInvalidStreamName), errors.Is(err, jetstream.ErrInvalidConsumerName),
		errors.Is(err, jetstream.ErrStreamNameRequired):
		return fmt.Errorf("%w: %w", ErrInvalidName, err)
	case errors.As(err, &apiErr) && publishRefusals[apiErr.ErrorCode] != nil:
		return fmt.Errorf("%w: %s", publishRefusals[apiErr.ErrorCode], apiErr.Description)
	case errors.As(err, &apiErr):
		if (apiErr.Code >= 400 && apiErr.Code < 500) || refusals[apiErr.ErrorCode] {
			return fmt.Errorf("%w: %s", ErrInvalidConfig, apiErr.Description)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount),
		errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// known are the sentinels classify maps onto.
var known = []error{ErrStreamNotFound, ErrConsumerNotFound, ErrMessageNotFound, ErrStreamExists,
	ErrConsumerExists, ErrNoStreamForSubject, ErrPayloadTooLarge, ErrInvalidName, ErrInvalidSubject,
	ErrInvalidConfig, ErrNotPending, ErrConsumerBusy, ErrDeliverGroupMismatch, ErrFilterMismatch,
	ErrUnavailable, ErrSubscriptionClosed, ErrClosed, ErrUnboundedConsumer}
