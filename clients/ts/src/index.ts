// httpmq TypeScript client: WebSocket sessions (docs/protocol.md) and the
// management REST API (docs/rest.md), for browsers and Node.
//
// Session.listen() subscribes to a subject live (no consumer, no acks), with
// recovery from a stream position and resumption after reconnects.
export { ClientReason, HttpmqError, SessionClosedError, type ErrorBody } from "./errors.js";
export { jsonCodec, msgpackCodec, codecFor, type Codec, type CodecName, type Frame } from "./codec.js";
export { jwtExpiry, type TokenSource } from "./token.js";
export {
  Session,
  Subscription,
  Message,
  sessionURL,
  FATAL_CLOSE_CODES,
  RETRYABLE_CLOSE_CODES,
  type SessionOptions,
  type SessionEvent,
  type SubscribeOptions,
  type ListenOptions,
  type PublishOptions,
  type PublishAck,
  type AckOptions,
  type AckResult,
  type Hello,
  type ReconnectOptions,
  type WebSocketLike,
  type WebSocketConstructor,
} from "./session.js";
export {
  AdminClient,
  type AdminOptions,
  type RequestOptions,
  type CreateStreamRequest,
  type UpdateStreamRequest,
  type StreamLimits,
  type StreamSettings,
  type StreamConfig,
  type StreamState,
  type StreamInfo,
  type PurgeRequest,
  type StoredMessage,
  type CreateConsumerRequest,
  type ConsumerConfig,
  type ConsumerInfo,
  type SequenceInfo,
  type DeliverPolicy,
  type Nanoseconds,
} from "./admin.js";
