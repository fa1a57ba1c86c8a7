package httpmq

import "github.com/httpmq/httpmq/protocol"

// The REST APIs' JSON, as typed Go values: package protocol defines them
// once for the server and the SDK (protocol/rest.go), and these are the
// same types under the SDK's names. Durations are nanoseconds on the
// wire, time.Duration here; -1 means unlimited where the server says so.
// Request fields that are pointers (or have omitempty) are optional: nil
// leaves the server's default or the current value. [Ptr] makes pointers
// to literals.

// Ptr returns a pointer to v, for the optional fields of requests:
// StreamLimits{MaxAge: httpmq.Ptr(time.Hour)}.
func Ptr[T any](v T) *T { return &v }

// Consumer modes.
const (
	ModePush = protocol.ModePush // the server pushes messages to subscribers
	ModePull = protocol.ModePull // subscribers pull; any number may share it
)

type (
	// StreamLimits are a stream's limits; 0 and -1 mean unlimited. In an
	// update only the limits given change.
	StreamLimits = protocol.StreamLimits
	// StreamSettings are a stream's settings besides name, subjects and
	// limits.
	StreamSettings = protocol.StreamSettings
	// NewStream defines a stream ([AdminClient.CreateStream]).
	NewStream = protocol.NewStream
	// StreamUpdate changes a stream ([AdminClient.UpdateStream]); what is
	// absent stays.
	StreamUpdate = protocol.StreamUpdate
	// StreamInfo is a stream as the server shows it.
	StreamInfo = protocol.StreamInfo
	// StreamConfig is a stream's configuration; unlimited limits are -1
	// (MaxAge 0).
	StreamConfig = protocol.StreamConfig
	// StreamState is what a stream holds.
	StreamState = protocol.StreamState
	// Purge says which messages [AdminClient.PurgeStream] removes; the
	// zero value removes all.
	Purge = protocol.Purge
	// StoredMessage is a message read from a stream by sequence.
	StoredMessage = protocol.StoredMessage
	// NewConsumer defines a durable consumer
	// ([AdminClient.CreateConsumer]). Name and Mode are required.
	NewConsumer = protocol.NewConsumer
	// ConsumerInfo is a consumer as the server shows it.
	ConsumerInfo = protocol.ConsumerInfo
	// ConsumerConfig is a consumer's configuration.
	ConsumerConfig = protocol.ConsumerConfig
	// SequenceInfo is a consumer position.
	SequenceInfo = protocol.SequenceInfo
)
