/**
 * Errors of httpmq: the server's (an `error` frame, a `closed` frame, a REST
 * error envelope) and the client's own (connection lost, timeouts).
 *
 * Switch on `reason`, never on `message`. The server's reasons are the table
 * in docs/protocol.md, "Error codes". Reasons this client makes up itself
 * (their `code` is 0) are the members of {@link ClientReason}.
 */

/** Reasons the client reports without the server having said anything. */
export const ClientReason = {
  /** The WebSocket dropped while the command was in flight: its outcome is unknown. */
  ConnectionLost: "connection_lost",
  /** The session was closed (by close(), or by a close code that forbids reconnecting). */
  SessionClosed: "session_closed",
  /** No reply came within the client's request timeout: the outcome is unknown. */
  ClientTimeout: "client_timeout",
  /** fetch failed before any HTTP answer (DNS, refused connection, TLS, CORS). */
  NetworkError: "network_error",
  /** The server answered something that is not httpmq's JSON envelope. */
  BadResponse: "bad_response",
} as const;

/** The JSON shape shared by `error` frames, `closed` frames and REST envelopes' `error`. */
export interface ErrorBody {
  code?: number;
  reason?: string;
  message?: string;
  detail?: string;
  retryable?: boolean;
  /** Nanoseconds. */
  retry_after?: number;
  sub?: string;
  stream?: string;
  consumer?: string;
  stream_seq?: number;
  consumer_seq?: number;
}

/** An error with httpmq's two codes: `code` (the HTTP status) and `reason` (stable string). */
export class HttpmqError extends Error {
  /** The HTTP status of the error (0 for client-side reasons). */
  readonly code: number;
  /** Stable machine-readable reason, e.g. "consumer_not_found" or "ack_not_pending". */
  readonly reason: string;
  /** Optional extra context from the server. */
  readonly detail?: string;
  /** Whether repeating the same request later may succeed. */
  readonly retryable: boolean;
  /** Milliseconds to wait before retrying, when the server said so. */
  readonly retryAfterMs?: number;
  /** The subscription concerned, for session errors tied to one. */
  readonly sub?: string;
  /** The REST request id (Httpmq-Request-ID), to quote when reporting a problem. */
  readonly requestId?: string;
  /**
   * The delivery a failed fire-and-forget acknowledgement named (the
   * server's `error` frame without id carries it), so that an `error`
   * event tells which ack did not count.
   */
  readonly delivery?: { stream: string; consumer: string; streamSeq: number; consumerSeq: number };

  constructor(
    code: number,
    reason: string,
    message: string,
    extra: {
      detail?: string;
      retryable?: boolean;
      retryAfterMs?: number;
      sub?: string;
      requestId?: string;
      delivery?: HttpmqError["delivery"];
    } = {},
  ) {
    super(message || reason);
    this.name = "HttpmqError";
    this.code = code;
    this.reason = reason;
    this.detail = extra.detail || undefined;
    this.retryable = extra.retryable ?? false;
    this.retryAfterMs = extra.retryAfterMs;
    this.sub = extra.sub || undefined;
    this.requestId = extra.requestId;
    this.delivery = extra.delivery;
  }

  /** Builds an error from an `error`/`closed` frame or a REST envelope's `error`. */
  static from(body: ErrorBody, requestId?: string): HttpmqError {
    return new HttpmqError(body.code ?? 0, body.reason ?? "unknown", body.message ?? "", {
      detail: body.detail,
      retryable: body.retryable ?? false,
      retryAfterMs: body.retry_after ? body.retry_after / 1e6 : undefined,
      sub: body.sub,
      requestId,
      delivery: body.stream_seq
        ? { stream: body.stream ?? "", consumer: body.consumer ?? "", streamSeq: body.stream_seq, consumerSeq: body.consumer_seq ?? 0 }
        : undefined,
    });
  }
}

/**
 * The session ended for good: closed by the application, by a close code
 * that says not to reconnect (1002, 1008, 1009, 4003, or 1000 from the
 * server), or after the reconnect attempts ran out.
 */
export class SessionClosedError extends HttpmqError {
  /** The WebSocket close code (0 when the client gave up on its own). */
  readonly closeCode: number;
  /** The close reason the server sent, e.g. "protocol_error: ...". */
  readonly closeReason: string;

  constructor(closeCode: number, closeReason: string, message?: string) {
    super(0, ClientReason.SessionClosed, message ?? `session closed (${closeCode}${closeReason ? " " + closeReason : ""})`);
    this.name = "SessionClosedError";
    this.closeCode = closeCode;
    this.closeReason = closeReason;
  }
}
