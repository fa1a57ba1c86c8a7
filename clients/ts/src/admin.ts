// The management REST API (/v1/admin/..., docs/rest.md, docs/openapi.yaml)
// over fetch. Durations are nanoseconds and times RFC 3339 strings, as on
// the wire.
import { ClientReason, type ErrorBody, HttpmqError } from "./errors.js";
import { type TokenSource, resolveToken } from "./token.js";

/** Nanoseconds. */
export type Nanoseconds = number;

export interface StreamLimits {
  max_consumers?: number;
  max_msgs?: number;
  max_bytes?: number;
  max_age?: Nanoseconds;
  max_msgs_per_subject?: number;
  max_msg_size?: number;
}

export interface StreamSettings {
  description?: string;
  retention?: "limits" | "interest" | "workqueue";
  discard?: "old" | "new";
  replicas?: number;
  duplicate_window?: Nanoseconds;
}

/** POST /v1/admin/stream. */
export interface CreateStreamRequest extends StreamLimits, StreamSettings {
  name: string;
  /** Default: the stream's name. */
  subjects?: string[];
  storage?: "file" | "memory";
}

/** PUT /v1/admin/stream/{stream}. */
export interface UpdateStreamRequest extends StreamLimits, StreamSettings {
  subjects?: string[];
}

export interface PurgeRequest {
  subject?: string;
  sequence?: number;
  keep?: number;
}

export interface StreamConfig extends Required<StreamLimits> {
  name: string;
  description?: string;
  subjects?: string[];
  storage: "file" | "memory";
  retention: "limits" | "interest" | "workqueue";
  discard: "old" | "new";
  replicas: number;
  duplicate_window: Nanoseconds;
}

export interface StreamState {
  messages: number;
  bytes: number;
  first_seq: number;
  first_ts: string;
  last_seq: number;
  last_ts: string;
  consumer_count: number;
  num_subjects: number;
}

export interface StreamInfo {
  config: StreamConfig;
  created: string;
  state: StreamState;
}

export interface StoredMessage {
  stream: string;
  subject: string;
  sequence: number;
  time: string;
  headers?: Record<string, string[]>;
  /** The payload, standard base64. */
  b64_msg: string;
}

export type DeliverPolicy = "all" | "last" | "new" | "by_start_sequence" | "by_start_time" | "last_per_subject";

/** POST /v1/admin/stream/{stream}/consumer. */
export interface CreateConsumerRequest {
  name: string;
  mode: "push" | "pull";
  notes?: string;
  filter_subject?: string;
  filter_subjects?: string[];
  /** Push consumers only. */
  delivery_group?: string;
  /** JetStream's max_ack_pending (default 1000). */
  max_inflight?: number;
  /** JetStream's max_deliver; 0 and -1 unlimited. */
  max_retry?: number;
  ack_wait?: Nanoseconds;
  deliver_policy?: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  backoff?: Nanoseconds[];
  max_waiting?: number;
  inactive_threshold?: Nanoseconds;
  replicas?: number;
  memory_storage?: boolean;
  headers_only?: boolean;
}

export interface ConsumerConfig {
  notes?: string;
  deliver_subject?: string;
  deliver_group?: string;
  max_deliver?: number;
  ack_wait: Nanoseconds;
  filter_subject?: string;
  filter_subjects?: string[];
  max_waiting?: number;
  max_ack_pending?: number;
  mode: "push" | "pull";
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  backoff?: Nanoseconds[];
  inactive_threshold?: Nanoseconds;
  replicas: number;
  memory_storage?: boolean;
  headers_only?: boolean;
}

export interface SequenceInfo {
  consumer_seq: number;
  stream_seq: number;
  last_active?: string;
}

export interface ConsumerInfo {
  stream_name: string;
  name: string;
  created: string;
  config: ConsumerConfig;
  delivered: SequenceInfo;
  ack_floor: SequenceInfo;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
  num_pending: number;
  push_bound?: boolean;
}

export interface AdminOptions {
  /** Bearer token, or a function returning a fresh one (called per request). */
  token?: TokenSource;
  /** The fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Per-request timeout, ms (default 30 000). */
  timeout?: number;
}

/** What every request may carry. */
export interface RequestOptions {
  /** Httpmq-Request-ID to use. */
  requestId?: string;
  signal?: AbortSignal;
}

/**
 * Client of the management API. Failures reject with an {@link HttpmqError}
 * carrying the envelope's `code` (HTTP status) and `reason`.
 *
 * Consumers have no update route in httpmq: define them again with
 * createConsumer (an identical definition answers 200, a different one 409
 * `consumer_exists`), or delete and create.
 */
export class AdminClient {
  readonly baseURL: string;
  readonly #opts: AdminOptions;

  constructor(baseURL: string, opts: AdminOptions = {}) {
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.#opts = opts;
  }

  /** GET /v1/admin/alive: true when the process serves HTTP. */
  async alive(o?: RequestOptions): Promise<boolean> {
    return this.#probe("/v1/admin/alive", o);
  }

  /** GET /v1/admin/ready: true when JetStream answers. */
  async ready(o?: RequestOptions): Promise<boolean> {
    return this.#probe("/v1/admin/ready", o);
  }

  async createStream(req: CreateStreamRequest, o?: RequestOptions): Promise<StreamInfo> {
    return (await this.#do("POST", "/v1/admin/stream", req, o)).stream as StreamInfo;
  }

  async listStreams(o?: RequestOptions): Promise<Record<string, StreamInfo>> {
    return ((await this.#do("GET", "/v1/admin/stream", undefined, o)).streams ?? {}) as Record<string, StreamInfo>;
  }

  async getStream(name: string, o?: RequestOptions): Promise<StreamInfo> {
    return (await this.#do("GET", `/v1/admin/stream/${seg(name)}`, undefined, o)).stream as StreamInfo;
  }

  /** PUT /v1/admin/stream/{stream}: subjects, limits and settings given. */
  async updateStream(name: string, req: UpdateStreamRequest, o?: RequestOptions): Promise<StreamInfo> {
    return (await this.#do("PUT", `/v1/admin/stream/${seg(name)}`, req, o)).stream as StreamInfo;
  }

  /** PUT /v1/admin/stream/{stream}/subject: replace the subjects. */
  async updateStreamSubjects(name: string, subjects: string[], o?: RequestOptions): Promise<StreamInfo> {
    return (await this.#do("PUT", `/v1/admin/stream/${seg(name)}/subject`, { subjects }, o)).stream as StreamInfo;
  }

  /** PUT /v1/admin/stream/{stream}/limit: change the limits given. */
  async updateStreamLimits(name: string, limits: StreamLimits, o?: RequestOptions): Promise<StreamInfo> {
    return (await this.#do("PUT", `/v1/admin/stream/${seg(name)}/limit`, limits, o)).stream as StreamInfo;
  }

  async deleteStream(name: string, o?: RequestOptions): Promise<void> {
    await this.#do("DELETE", `/v1/admin/stream/${seg(name)}`, undefined, o);
  }

  /** POST /v1/admin/stream/{stream}/purge: resolves with the number of messages removed. */
  async purgeStream(name: string, req: PurgeRequest = {}, o?: RequestOptions): Promise<number> {
    return (await this.#do("POST", `/v1/admin/stream/${seg(name)}/purge`, req, o)).purged as number;
  }

  async getMessage(stream: string, sequence: number, o?: RequestOptions): Promise<StoredMessage> {
    return (await this.#do("GET", `/v1/admin/stream/${seg(stream)}/message/${sequence}`, undefined, o)).message as StoredMessage;
  }

  async createConsumer(stream: string, req: CreateConsumerRequest, o?: RequestOptions): Promise<ConsumerInfo> {
    return (await this.#do("POST", `/v1/admin/stream/${seg(stream)}/consumer`, req, o)).consumer as ConsumerInfo;
  }

  async listConsumers(stream: string, o?: RequestOptions): Promise<Record<string, ConsumerInfo>> {
    return ((await this.#do("GET", `/v1/admin/stream/${seg(stream)}/consumer`, undefined, o)).consumers ?? {}) as Record<
      string,
      ConsumerInfo
    >;
  }

  async getConsumer(stream: string, name: string, o?: RequestOptions): Promise<ConsumerInfo> {
    return (await this.#do("GET", `/v1/admin/stream/${seg(stream)}/consumer/${seg(name)}`, undefined, o)).consumer as ConsumerInfo;
  }

  async deleteConsumer(stream: string, name: string, o?: RequestOptions): Promise<void> {
    await this.#do("DELETE", `/v1/admin/stream/${seg(stream)}/consumer/${seg(name)}`, undefined, o);
  }

  async #probe(path: string, o?: RequestOptions): Promise<boolean> {
    try {
      await this.#do("GET", path, undefined, o);
      return true;
    } catch (e) {
      if (e instanceof HttpmqError && e.code !== 0) return false;
      throw e;
    }
  }

  async #do(method: string, path: string, body: unknown, o: RequestOptions = {}): Promise<Record<string, unknown>> {
    const f = this.#opts.fetch ?? globalThis.fetch;
    const headers: Record<string, string> = { Accept: "application/json", ...this.#opts.headers };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = await resolveToken(this.#opts.token);
    if (token) headers.Authorization = "Bearer " + token;
    if (o.requestId) headers["Httpmq-Request-ID"] = o.requestId;
    const timeout = AbortSignal.timeout(this.#opts.timeout ?? 30_000);
    const signal = o.signal ? anySignal([o.signal, timeout]) : timeout;
    let resp: Response;
    try {
      resp = await f(this.baseURL + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (timeout.aborted) {
        throw new HttpmqError(0, ClientReason.ClientTimeout, `${method} ${path}: no answer in time`, { retryable: true });
      }
      if (o.signal?.aborted) throw e;
      throw new HttpmqError(0, ClientReason.NetworkError, `${method} ${path}: ${(e as Error).message}`, { retryable: true });
    }
    const requestId = resp.headers.get("Httpmq-Request-ID") ?? undefined;
    const text = await resp.text();
    let env: Record<string, unknown> | undefined;
    try {
      env = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      env = undefined;
    }
    if (!env || typeof env !== "object") {
      throw new HttpmqError(resp.status, ClientReason.BadResponse, `${method} ${path}: HTTP ${resp.status}, not a JSON envelope`, {
        detail: text.slice(0, 200),
        requestId,
      });
    }
    if (!resp.ok || env.success === false) {
      const err = (env.error ?? {}) as ErrorBody;
      if (err.code === undefined) err.code = resp.status;
      return Promise.reject(HttpmqError.from(err, (env.request_id as string | undefined) ?? requestId));
    }
    return env;
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as unknown as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(signals);
  const c = new AbortController();
  for (const s of signals) s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  return c.signal;
}
