// The session client: one WebSocket to /v1/session carrying subscriptions,
// publishes and acknowledgements (docs/protocol.md), with reconnects,
// resubscription and token renewal.
import { ClientReason, type ErrorBody, HttpmqError, SessionClosedError } from "./errors.js";
import { type Codec, type CodecName, type Frame, codecFor, fromUtf8, utf8 } from "./codec.js";
import { type TokenSource, jwtExpiry, resolveToken } from "./token.js";

/**
 * The subset of the WHATWG WebSocket this client uses: browsers', Node's
 * (22 and later, or 20 with --experimental-websocket), undici's, ws's.
 * Handlers are typed loosely so that each of those fits.
 */
export interface WebSocketLike {
  readonly protocol: string;
  readonly readyState: number;
  binaryType: string;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  onmessage: any;
  onclose: any;
  onerror: any;
}

/** A WebSocket constructor, `globalThis.WebSocket` by default. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

/** Exponential backoff with jitter between reconnect attempts. */
export interface ReconnectOptions {
  /** First delay, ms (default 100). */
  initialDelay?: number;
  /** Largest delay, ms (default 10 000). */
  maxDelay?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Fraction of each delay that is random, 0..1 (default 0.5). */
  jitter?: number;
  /** Consecutive failed attempts before giving up (default unlimited). */
  maxAttempts?: number;
}

/** What happened to a session, for logs and UIs. */
export type SessionEvent =
  | { type: "connected"; hello: Hello; reconnect: boolean }
  | { type: "disconnected"; code: number; reason: string; reconnectIn?: number }
  | { type: "resubscribed"; sub: string }
  | { type: "token_refreshed" }
  /** An error tied to no command: a failed fire-and-forget ack, a failed resubscribe or token refresh. */
  | { type: "error"; error: Error };

export interface SessionOptions {
  /** Framing: "json" (default) or "msgpack". */
  codec?: CodecName;
  /**
   * Credentials: a bearer token, or a function returning a fresh one (called
   * for every connection and before a JWT's `exp`). Sent as the subprotocol
   * `httpmq.auth.TOKEN`, the way browsers can (docs/security.md).
   */
  token?: TokenSource;
  /** Renew a JWT this long before its `exp`, ms (default: a quarter of its remaining life, at least 2 s or half of it, at most 30 s). */
  refreshMargin?: number;
  /** The WebSocket implementation (default globalThis.WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect settings, or false never to reconnect. */
  reconnect?: ReconnectOptions | false;
  /** How long a command may wait for a connection and its reply, ms (default 30 000). */
  requestTimeout?: number;
  /**
   * How long {@link Session.connect} tries (with reconnect's backoff) before
   * rejecting, ms (default requestTimeout). A browser cannot see why a
   * handshake was refused (401, 403, 503 all look like close 1006), so
   * refused handshakes are retried until then.
   */
  connectTimeout?: number;
  /**
   * Send `ping` frames every heartbeat and treat a silent server (three
   * heartbeats without any frame) as a dropped connection (default true).
   */
  keepAlive?: boolean;
  /** Called on connects, disconnects and errors tied to no command. */
  onEvent?: (event: SessionEvent) => void;
}

/** The server's `hello`. */
export interface Hello {
  version: number;
  session: string;
  /** Largest WebSocket message the client may send, bytes. */
  maxFrame: number;
  maxSubs: number;
  /** Nanoseconds between the server's WebSocket pings. */
  heartbeat: number;
}

/** Options of {@link Session.subscribe}. */
export interface SubscribeOptions {
  /** Subscription id on the session (default generated). */
  sub?: string;
  /** A subject pattern covering the consumer's filter. */
  filter?: string;
  /** Push consumers: the delivery group. */
  group?: string;
  /** Most unacknowledged messages at once on this subscription. */
  maxInflight?: number;
  /** Receive messages through a callback instead of iterating: one at a time, in order (the next once the returned promise settled). */
  callback?: (msg: Message) => void | Promise<void>;
}

/**
 * Options of {@link Session.listen}: where a live subscription starts. With
 * none of fromSeq, since and last, at the next message published;
 * otherwise it first recovers stored messages (when a stream captures the
 * subject) from one position.
 */
export interface ListenOptions {
  /** Subscription id on the session (default generated). */
  sub?: string;
  /** Recover from this stream sequence on. */
  fromSeq?: number;
  /** Recover the messages stored since this time. */
  since?: Date;
  /** Recover the last N messages of the subject. */
  last?: number;
  /** Receive messages through a callback instead of iterating, as for {@link SubscribeOptions.callback}. */
  callback?: (msg: Message) => void | Promise<void>;
}

/** Options of {@link Session.publish}. */
export interface PublishOptions {
  /** JetStream de-duplication id (Nats-Msg-Id). */
  msgId?: string;
  /** Message headers: a name to one value or several. */
  headers?: Record<string, string | string[]>;
}

/** Where a published message was stored. */
export interface PublishAck {
  stream: string;
  sequence: number;
  /** JetStream already had a message with this msgId (sequence is the original's). */
  duplicate: boolean;
}

/** Options of acknowledgements. */
export interface AckOptions {
  /**
   * true (default): send with an `id` and resolve once JetStream confirmed
   * it, reject with an HttpmqError (e.g. `ack_not_pending`) otherwise.
   * false: fire-and-forget; resolves once sent, failures arrive as
   * `error` events.
   */
  confirm?: boolean;
}

/** The answer to an acknowledgement. */
export interface AckResult {
  /** The server confirmed it (false for fire-and-forget). */
  confirmed: boolean;
  /** The delivery had already been acknowledged the same way. */
  duplicate: boolean;
}

/** The most frames, and bytes, that #flush puts in one WebSocket message (as the Go server and SDK do). */
const BATCH_MAX_FRAMES = 128;
const BATCH_MAX_BYTES = 64 << 10;

const RETRY = new Set([1001, 1006, 1011, 4000, 4001, 4002, 4004]);
/** Close codes after which reconnecting unchanged cannot help. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1002, 1003, 1007, 1008, 1009, 1010, 4003]);

function closeName(reason: string): string {
  const i = reason.indexOf(":");
  return i < 0 ? reason : reason.slice(0, i);
}

interface Pending {
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A delivery on a subscription. */
export class Message {
  readonly sub: string;
  readonly subject: string;
  readonly stream: string;
  readonly consumer: string;
  readonly streamSeq: number;
  readonly consumerSeq: number;
  /** 1 the first time, more on redeliveries. */
  readonly deliveries: number;
  /** Messages still pending for the consumer after this one. */
  readonly pending: number;
  /** When the stream stored it, Unix nanoseconds (rounded to a double). */
  readonly time: number;
  readonly headers: Record<string, string[]>;
  readonly data: Uint8Array;
  readonly #session: Session;

  /** @internal */
  constructor(session: Session, f: Frame) {
    this.#session = session;
    this.sub = str(f.sub);
    this.subject = str(f.subject);
    this.stream = str(f.stream);
    this.consumer = str(f.consumer);
    this.streamSeq = num(f.stream_seq);
    this.consumerSeq = num(f.consumer_seq);
    this.deliveries = num(f.deliveries);
    this.pending = num(f.pending);
    this.time = num(f.time);
    this.headers = (f.headers as Record<string, string[]>) ?? {};
    this.data = f.data instanceof Uint8Array ? f.data : new Uint8Array(0);
  }

  /** When the stream stored it. */
  get date(): Date {
    return new Date(this.time / 1e6);
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return fromUtf8(this.data);
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** Done: do not redeliver. */
  ack(opts?: AckOptions): Promise<AckResult> {
    return this.#session.acknowledge("ack", this, {}, opts);
  }

  /** Redeliver, after `delayMs` if given. */
  nak(delayMs?: number, opts?: AckOptions): Promise<AckResult> {
    return this.#session.acknowledge("nak", this, { delay: delayMs ? Math.round(delayMs * 1e6) : undefined }, opts);
  }

  /** Do not redeliver: the message failed for good. */
  term(reason?: string, opts?: AckOptions): Promise<AckResult> {
    return this.#session.acknowledge("term", this, { reason }, opts);
  }

  /** Still working: restart the ack wait timer. */
  progress(opts?: AckOptions): Promise<AckResult> {
    return this.#session.acknowledge("progress", this, {}, opts);
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function num(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : 0;
}

/**
 * A subscription to a consumer: iterate it (`for await (const msg of sub)`)
 * or pass a callback to {@link Session.subscribe}. It survives reconnects (the
 * session subscribes again); it ends when unsubscribed, when the session
 * closes, or when the server ends it for good (consumer deleted...), in which
 * case the iteration throws the server's HttpmqError.
 */
export class Subscription implements AsyncIterable<Message> {
  readonly sub: string;
  readonly stream: string;
  readonly consumer: string;
  readonly options: Readonly<SubscribeOptions>;
  /** A live subscription's subject ({@link Session.listen}); "" for a consumer's. */
  readonly subject: string = "";
  /** @internal */ readonly live: Readonly<ListenOptions> = {};
  /** @internal */ lastSeq = 0;
  /**
   * Live subscriptions: whether the last (re)subscribe found everything it
   * asked to recover still stored. False means messages were missed.
   */
  recovered = false;
  /** Resolves when the subscription ends: with undefined, or the error that ended it. */
  readonly closed: Promise<Error | undefined>;
  /** @internal */ state: "subscribing" | "active" | "unsubscribing" | "ended" = "subscribing";
  readonly #session: Session;
  readonly #queue: Message[] = [];
  readonly #waiters: { resolve: (r: IteratorResult<Message>) => void; reject: (e: Error) => void }[] = [];
  #error?: Error;
  #chain: Promise<void> = Promise.resolve();
  #resolveClosed!: (e: Error | undefined) => void;

  /** @internal */
  constructor(session: Session, sub: string, stream: string, consumer: string, options: SubscribeOptions, subject = "", live: ListenOptions = {}) {
    this.#session = session;
    this.sub = sub;
    this.stream = stream;
    this.consumer = consumer;
    this.options = options;
    this.subject = subject;
    this.live = live;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** @internal */
  deliver(msg: Message): void {
    if (this.state === "ended") return;
    if (this.subject && msg.streamSeq) {
      if (msg.streamSeq <= this.lastSeq) return; // received before a reconnect
      this.lastSeq = msg.streamSeq;
    }
    const cb = this.options.callback;
    if (cb) {
      // One message at a time, in order; a failing callback is an error
      // event and the next message goes on.
      this.#chain = this.#chain.then(() => cb(msg)).catch((e) => this.#session.emitError(e));
      return;
    }
    const w = this.#waiters.shift();
    if (w) w.resolve({ value: msg, done: false });
    else this.#queue.push(msg);
  }

  /** @internal */
  end(error?: Error): void {
    if (this.state === "ended") return;
    this.state = "ended";
    this.#error = error;
    this.#session.forget(this);
    for (const w of this.#waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
    this.#resolveClosed(error);
  }

  /** The next message; done once the subscription ended (throws its error, if any). */
  next(): Promise<IteratorResult<Message>> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve({ value: m, done: false });
    if (this.state === "ended") {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.unsubscribe().catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }

  /** Ends the subscription; unacknowledged messages are redelivered after their ack wait. */
  async unsubscribe(): Promise<void> {
    if (this.state === "ended" || this.state === "unsubscribing") return;
    this.state = "unsubscribing"; // no resubscribing meanwhile
    try {
      if (this.#session.connected) await this.#session.call({ type: "unsubscribe", sub: this.sub });
    } catch (e) {
      // Gone already (connection lost, session closed, unknown to the server): ended all the same.
      const gone = e instanceof HttpmqError &&
        (e.reason === "subscription_not_found" || e.reason === ClientReason.ConnectionLost || e instanceof SessionClosedError);
      if (!gone) {
        this.end();
        throw e;
      }
    }
    this.end();
  }
}

/**
 * A session: one WebSocket carrying many subscriptions, publishes and acks.
 *
 * ```ts
 * const session = await Session.connect("wss://mq.example.com/v1/session", { token: getToken });
 * ```
 */
export class Session {
  readonly url: string;
  readonly codec: Codec;
  /** The current connection's `hello`. */
  hello?: Hello;
  readonly #opts: SessionOptions;
  readonly #WS: WebSocketConstructor;
  readonly #pending = new Map<string, Pending>();
  readonly #subs = new Map<string, Subscription>();
  readonly #readyWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  #ws?: WebSocketLike;
  #connected = false;
  /** Frames encoded during the current task, sent together once it ends (#flush), on #outWs. */
  #out: (string | Uint8Array)[] = [];
  #outWs?: WebSocketLike;
  #closed?: SessionClosedError;
  #nextId = 0;
  #nextSub = 0;
  #attempt = 0;
  #everConnected = false;
  #reconnectTimer?: ReturnType<typeof setTimeout>;
  #refreshTimer?: ReturnType<typeof setTimeout>;
  #pingTimer?: ReturnType<typeof setInterval>;
  /** WebSocket messages received, for the keep-alive. */
  #frames = 0;
  #token?: string;
  readonly #done: Promise<SessionClosedError>;
  #resolveDone!: (e: SessionClosedError) => void;

  private constructor(url: string, opts: SessionOptions) {
    this.url = url;
    this.#opts = opts;
    this.codec = codecFor(opts.codec ?? "json");
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) {
      throw new Error("httpmq: no WebSocket: pass options.WebSocket (on Node 20, run with --experimental-websocket)");
    }
    this.#WS = WS;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /**
   * Opens a session and resolves once the server's `hello` arrived. `url` is
   * `ws(s)://host:port/v1/session`; an http(s) URL or one without a path is
   * completed. Failed attempts are retried with backoff unless the close
   * code says not to.
   */
  static async connect(url: string, opts: SessionOptions = {}): Promise<Session> {
    const s = new Session(sessionURL(url), opts);
    void s.#dial();
    try {
      await s.#whenReady(opts.connectTimeout ?? s.#timeout());
    } catch (e) {
      // Give up entirely: no reconnecting in the background.
      s.#finish(e instanceof SessionClosedError ? e : new SessionClosedError(0, "", `could not connect: ${(e as Error).message}`));
      throw e;
    }
    return s;
  }

  /** The session is connected (the server's hello arrived). */
  get connected(): boolean {
    return this.#connected;
  }

  /** The subscriptions alive on this session. */
  get subscriptions(): Subscription[] {
    return [...this.#subs.values()];
  }

  /** Subscribes to a durable consumer; resolves once the server confirmed. */
  async subscribe(stream: string, consumer: string, opts: SubscribeOptions = {}): Promise<Subscription> {
    this.#checkOpen();
    const sub = opts.sub ?? `s${++this.#nextSub}`;
    return this.#start(new Subscription(this, sub, stream, consumer, opts));
  }

  /**
   * Subscribes to a subject live (wildcards allowed): its messages as they
   * are published, without a consumer and without acknowledgements. When a
   * stream captures the subject, messages carry their streamSeq and, after a
   * reconnect, the session resumes after the last one received: nothing is
   * missed or repeated while the stream still holds it (see
   * {@link Subscription.recovered}).
   */
  async listen(subject: string, opts: ListenOptions = {}): Promise<Subscription> {
    this.#checkOpen();
    const sub = opts.sub ?? `s${++this.#nextSub}`;
    return this.#start(new Subscription(this, sub, "", "", { callback: opts.callback }, subject, opts));
  }

  async #start(s: Subscription): Promise<Subscription> {
    if (this.#subs.has(s.sub)) {
      throw new HttpmqError(409, "subscription_exists", `subscription ${JSON.stringify(s.sub)} exists`);
    }
    this.#subs.set(s.sub, s);
    const deadline = Date.now() + this.#timeout();
    for (;;) {
      try {
        const r = await this.call(this.#subscribeFrame(s), deadline - Date.now());
        s.recovered = Boolean(r.recovered);
        s.state = "active";
        return s;
      } catch (e) {
        // A connection lost mid-subscribe: subscribe again on the next one.
        if (e instanceof HttpmqError && e.reason === ClientReason.ConnectionLost && Date.now() < deadline) continue;
        s.end(e as Error);
        throw e;
      }
    }
  }

  /** Publishes a message; resolves with where JetStream stored it. */
  async publish(subject: string, data?: Uint8Array | string, opts: PublishOptions = {}): Promise<PublishAck> {
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = Array.isArray(v) ? v : [v];
    const r = await this.call({
      type: "publish",
      subject,
      data: typeof data === "string" ? utf8(data) : data,
      headers,
      msg_id: opts.msgId,
    });
    return { stream: str(r.stream), sequence: num(r.seq), duplicate: r.duplicate === true };
  }

  /** Asks the server for a `pong`; resolves with the round trip in ms. */
  async ping(): Promise<number> {
    const start = Date.now();
    await this.call({ type: "ping" });
    return Date.now() - start;
  }

  /** Replaces the session's credentials now (normally done before `exp` by itself). */
  async reauthenticate(token?: string): Promise<void> {
    const t = token ?? (await resolveToken(this.#opts.token));
    if (!t) throw new Error("httpmq: no token to send");
    await this.call({ type: "auth", token: t });
    this.#token = t;
    this.#scheduleRefresh(t);
  }

  /** Closes the session: subscriptions end, commands in flight fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush(); // what the application sent before closing goes first
    const ws = this.#ws;
    this.#finish(new SessionClosedError(1000, "normal", "session closed by the client"), true);
    if (ws && ws.readyState <= 1) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        ws.onclose = () => {
          clearTimeout(t);
          resolve();
        };
        ws.close(1000, "normal");
      });
    }
  }

  /** Resolves when the session ends for good, with why. */
  get done(): Promise<SessionClosedError> {
    return this.#done;
  }

  // ---- internals shared with Message and Subscription ----

  /** @internal Sends a command with a fresh id and resolves with its `ok` (or `pong`). */
  async call(frame: Frame, timeout = this.#timeout()): Promise<Frame> {
    const deadline = Date.now() + timeout;
    await this.#whenReady(timeout);
    const id = String(++this.#nextId);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#pending.delete(id);
          reject(new HttpmqError(0, ClientReason.ClientTimeout, `no reply to ${frame.type} within ${timeout} ms`, { retryable: true }));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#send({ ...frame, id });
      } catch (e) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /** @internal */
  async acknowledge(kind: string, m: Message, extra: Frame | Record<string, unknown>, opts?: AckOptions): Promise<AckResult> {
    const frame: Frame = {
      type: kind,
      stream: m.stream,
      consumer: m.consumer,
      stream_seq: m.streamSeq,
      consumer_seq: m.consumerSeq,
      deliveries: m.deliveries,
      ...extra,
    };
    if (opts?.confirm === false) {
      await this.#whenReady(this.#timeout());
      this.#send(frame);
      return { confirmed: false, duplicate: false };
    }
    const r = await this.call(frame);
    return { confirmed: true, duplicate: r.duplicate === true };
  }

  /** @internal */
  forget(s: Subscription): void {
    if (this.#subs.get(s.sub) === s) this.#subs.delete(s.sub);
  }

  /** @internal */
  emitError(e: unknown): void {
    this.#emit({ type: "error", error: e instanceof Error ? e : new Error(String(e)) });
  }

  // ---- connection management ----

  #timeout(): number {
    return this.#opts.requestTimeout ?? 30_000;
  }

  #emit(ev: SessionEvent): void {
    try {
      this.#opts.onEvent?.(ev);
    } catch {
      // an event handler's failure is not the session's
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw this.#closed;
  }

  #whenReady(timeout: number): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w = {
        resolve: () => {
          clearTimeout(timer);
          this.#readyWaiters.delete(w);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          this.#readyWaiters.delete(w);
          reject(e);
        },
      };
      if (Number.isFinite(timeout)) {
        timer = setTimeout(
          () => w.reject(new HttpmqError(0, ClientReason.ClientTimeout, "not connected: timed out waiting for a session", { retryable: true })),
          Math.max(0, timeout),
        );
      }
      this.#readyWaiters.add(w);
    });
  }

  #send(frame: Frame): void {
    const ws = this.#ws;
    if (!ws || !this.#connected) {
      throw new HttpmqError(0, ClientReason.ConnectionLost, "not connected", { retryable: true });
    }
    const data = this.codec.encode(frame);
    const max = this.hello?.maxFrame ?? 0;
    // The server closes the whole session (1009) on a message over
    // max_frame: refuse it here instead, and the session goes on.
    if (max > 0) {
      const size = typeof data === "string" ? (data.length > max / 3 ? utf8(data).length : data.length) : data.length;
      if (size > max) {
        throw new HttpmqError(413, "payload_too_large", `${frame.type} frame of ${size} bytes exceeds the session's max_frame (${max})`, {
          detail: "refused by the client before sending",
        });
      }
    }
    if (this.#out.length > 0 && this.#outWs !== ws) this.#flush();
    if (this.#out.length === 0) {
      this.#outWs = ws;
      queueMicrotask(() => this.#flush());
    }
    this.#out.push(data);
  }

  /**
   * Sends the frames queued during the task that just ran: as few
   * WebSocket messages as the batch limits allow instead of one per frame
   * (fire-and-forget acks of a burst of messages, publishes in a loop), which
   * saves the server a read and a decode per frame. A lone frame goes alone.
   */
  #flush(): void {
    const ws = this.#outWs;
    const frames = this.#out;
    this.#out = [];
    this.#outWs = undefined;
    if (!ws || ws !== this.#ws || frames.length === 0) return; // the connection is gone, as a send on it would be
    const max = Math.min(BATCH_MAX_BYTES, this.hello?.maxFrame || Infinity);
    let group: (string | Uint8Array)[] = [];
    let bytes = 0;
    for (const f of frames) {
      // A string's UTF-8 length is at most 3 per UTF-16 unit; +1 for the newline.
      const size = typeof f === "string" ? 3 * f.length + 1 : f.length;
      if (group.length > 0 && (group.length >= BATCH_MAX_FRAMES || bytes + size > max)) {
        if (!this.#write(ws, group)) return;
        group = [];
        bytes = 0;
      }
      group.push(f);
      bytes += size;
    }
    this.#write(ws, group);
  }

  /** Sends frames as one message; a WebSocket that refuses (it is closing) loses them, as the connection does. */
  #write(ws: WebSocketLike, frames: (string | Uint8Array)[]): boolean {
    try {
      ws.send(frames.length === 1 ? frames[0] : this.codec.join(frames));
      return true;
    } catch (e) {
      // Out of the sender's call by now (a microtask): say it as an event;
      // the commands among the frames fail with the connection.
      this.emitError(e);
      return false;
    }
  }

  async #dial(): Promise<void> {
    if (this.#closed) return;
    let token: string | undefined;
    try {
      token = await resolveToken(this.#opts.token);
    } catch (e) {
      this.emitError(e);
      this.#retry(1006, "token callback failed");
      return;
    }
    if (this.#closed) return;
    this.#token = token;
    const protocols = [this.codec.subprotocol];
    if (token) protocols.push("httpmq.auth." + token);
    let ws: WebSocketLike;
    try {
      ws = new this.#WS(this.url, protocols);
    } catch (e) {
      // A malformed URL or token (not a valid subprotocol): no retry helps.
      this.#finish(new SessionClosedError(0, "", `cannot open a WebSocket: ${(e as Error).message}`));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    ws.onmessage = (ev: { data: unknown }) => this.#onMessage(ws, ev.data);
    ws.onclose = (ev: { code: number; reason: string }) => this.#onClose(ws, ev.code, ev.reason);
    ws.onerror = () => undefined; // a close event follows
  }

  #onMessage(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.#ws) return;
    this.#frames++;
    let frames: Frame[];
    try {
      frames = this.codec.decode(data as string | ArrayBuffer);
    } catch (e) {
      this.emitError(e);
      return;
    }
    for (const f of frames) this.#handle(ws, f);
  }

  #handle(ws: WebSocketLike, f: Frame): void {
    switch (f.type) {
      case "hello":
        this.#onHello(ws, f);
        return;
      case "ok":
      case "pong":
      case "error": {
        const id = str(f.id);
        const p = id ? this.#pending.get(id) : undefined;
        if (p) {
          this.#pending.delete(id);
          clearTimeout(p.timer);
          if (f.type === "error") p.reject(HttpmqError.from(f as ErrorBody));
          else p.resolve(f);
        } else if (f.type === "error") {
          this.emitError(HttpmqError.from(f as ErrorBody));
        }
        return;
      }
      case "msg": {
        const s = this.#subs.get(str(f.sub));
        if (s) s.deliver(new Message(this, f));
        return;
      }
      case "closed": {
        const s = this.#subs.get(str(f.sub));
        if (!s) return;
        const err = HttpmqError.from(f as ErrorBody);
        if (err.retryable && s.state === "active") {
          // e.g. unavailable or shutting_down: subscribe again after a while.
          this.emitError(err);
          setTimeout(() => void this.#resubscribe(s), Math.max(err.retryAfterMs ?? 0, this.#backoff(1)));
        } else {
          s.end(err);
        }
        return;
      }
      default:
        return; // unknown frame types from a newer server are ignored
    }
  }

  #onHello(ws: WebSocketLike, f: Frame): void {
    this.hello = {
      version: num(f.version),
      session: str(f.session),
      maxFrame: num(f.max_frame),
      maxSubs: num(f.max_subs),
      heartbeat: num(f.heartbeat),
    };
    if (ws.protocol && ws.protocol !== this.codec.subprotocol) {
      this.#finish(new SessionClosedError(4003, "unsupported_subprotocol", `server chose ${ws.protocol}`));
      ws.close(1000, "normal");
      return;
    }
    const reconnect = this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    this.#attempt = 0;
    this.#emit({ type: "connected", hello: this.hello, reconnect });
    for (const w of [...this.#readyWaiters]) w.resolve();
    for (const s of this.#subs.values()) {
      if (s.state === "active") void this.#resubscribe(s);
    }
    if (this.#token && typeof this.#opts.token === "function") this.#scheduleRefresh(this.#token);
    this.#startKeepAlive(ws);
  }

  #subscribeFrame(s: Subscription): Frame {
    if (s.subject) {
      const resume = s.lastSeq > 0;
      return {
        type: "subscribe",
        sub: s.sub,
        subject: s.subject,
        from_seq: resume ? s.lastSeq + 1 : s.live.fromSeq,
        since: !resume && s.live.since ? BigInt(s.live.since.getTime()) * 1000000n : undefined,
        last: resume ? undefined : s.live.last,
      };
    }
    return {
      type: "subscribe",
      sub: s.sub,
      stream: s.stream,
      consumer: s.consumer,
      filter: s.options.filter,
      group: s.options.group,
      max_inflight: s.options.maxInflight,
    };
  }

  async #resubscribe(s: Subscription): Promise<void> {
    if (s.state !== "active" || this.#subs.get(s.sub) !== s || !this.#connected) return;
    try {
      const r = await this.call(this.#subscribeFrame(s));
      s.recovered = Boolean(r.recovered);
      this.#emit({ type: "resubscribed", sub: s.sub });
    } catch (e) {
      if (!(e instanceof HttpmqError)) return s.end(e as Error);
      // Lost again: the next hello subscribes again.
      if (e.reason === ClientReason.ConnectionLost || e instanceof SessionClosedError) return;
      // An earlier attempt that timed out on our side did go through.
      if (e.reason === "subscription_exists") return;
      if (e.retryable || e.reason === ClientReason.ClientTimeout) {
        this.emitError(e);
        setTimeout(() => void this.#resubscribe(s), Math.max(e.retryAfterMs ?? 0, this.#backoff(2)));
        return;
      }
      s.end(e);
    }
  }

  #scheduleRefresh(token: string): void {
    clearTimeout(this.#refreshTimer);
    const exp = jwtExpiry(token);
    if (exp === undefined || typeof this.#opts.token !== "function") return;
    const left = exp - Date.now();
    // A quarter of the life left, at least 2 s (or half the life, for very
    // short tokens), at most 30 s.
    const margin = this.#opts.refreshMargin ?? Math.min(30_000, Math.max(left / 4, Math.min(left / 2, 2000)));
    this.#refreshTimer = setTimeout(() => void this.#refresh(exp), Math.max(0, left - margin));
  }

  async #refresh(exp: number): Promise<void> {
    if (!this.#connected) return;
    try {
      await this.reauthenticate();
      this.#emit({ type: "token_refreshed" });
    } catch (e) {
      this.emitError(e);
      // Try again while there is time; past exp the server closes with 4004
      // and the reconnect fetches a fresh token.
      const left = exp - Date.now();
      if (left > 200 && this.#connected) {
        this.#refreshTimer = setTimeout(() => void this.#refresh(exp), Math.min(5000, left / 2));
      }
    }
  }

  #startKeepAlive(ws: WebSocketLike): void {
    clearInterval(this.#pingTimer);
    const hb = (this.hello?.heartbeat ?? 0) / 1e6;
    if (this.#opts.keepAlive === false || hb <= 0) return;
    // Count ticks, not elapsed time: after the event loop stalled (a busy
    // machine, a suspended tab), timers may run before the frames waiting in
    // the socket; a server is silent only after three whole heartbeats
    // without a frame.
    let seen = this.#frames;
    let missed = 0;
    this.#pingTimer = setInterval(() => {
      if (ws !== this.#ws) return;
      if (this.#frames !== seen) {
        seen = this.#frames;
        missed = 0;
      } else if (++missed >= 3) {
        // Drop the connection without waiting for a close handshake that
        // will not come.
        this.#onClose(ws, 1006, "no frame from the server for 3 heartbeats");
        try {
          ws.close(4002, "idle_timeout");
        } catch {
          // already closing
        }
        return;
      }
      this.call({ type: "ping" }, 3 * hb).catch(() => undefined);
    }, hb);
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#connected = false;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#refreshTimer);
    const lost = new HttpmqError(0, ClientReason.ConnectionLost, `connection lost (${code}${reason ? " " + reason : ""})`, {
      retryable: true,
    });
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(lost);
    }
    if (this.#closed) return;
    const name = closeName(reason);
    if (FATAL_CLOSE_CODES.has(code) || name === "unsupported_subprotocol" || this.#opts.reconnect === false) {
      this.#emit({ type: "disconnected", code, reason });
      this.#finish(new SessionClosedError(code, reason));
      return;
    }
    this.#retry(code, reason);
  }

  #backoff(attempt: number): number {
    const r = this.#opts.reconnect || {};
    const initial = r.initialDelay ?? 100;
    const max = r.maxDelay ?? 10_000;
    const factor = r.factor ?? 2;
    const jitter = Math.min(1, Math.max(0, r.jitter ?? 0.5));
    const d = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt - 1)));
    return d * (1 - jitter * Math.random());
  }

  #retry(code: number, reason: string): void {
    const r = this.#opts.reconnect || {};
    this.#attempt++;
    if (this.#opts.reconnect === false || this.#attempt > (r.maxAttempts ?? Infinity)) {
      this.#emit({ type: "disconnected", code, reason });
      this.#finish(new SessionClosedError(code, reason, `gave up reconnecting after ${this.#attempt - 1} attempts (last close ${code} ${reason})`));
      return;
    }
    // Expired credentials: reconnect at once with a fresh token.
    const delay = code === 4004 && this.#attempt === 1 ? 0 : this.#backoff(this.#attempt);
    this.#emit({ type: "disconnected", code, reason, reconnectIn: delay });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#dial(), delay);
  }

  #finish(err: SessionClosedError, byClient = false): void {
    if (this.#closed) return;
    this.#closed = err;
    this.#connected = false;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    clearInterval(this.#pingTimer);
    for (const w of [...this.#readyWaiters]) w.reject(err);
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
    // Closing by the application ends subscriptions quietly; otherwise
    // their iterations throw why.
    for (const s of [...this.#subs.values()]) s.end(byClient ? undefined : err);
    this.#resolveDone(err);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && !byClient && ws.readyState <= 1) ws.close(1000, "normal");
  }
}

/** Completes a session URL: http→ws, https→wss, /v1/session when no path is given. */
export function sessionURL(url: string): string {
  // Relative URLs ("/v1/session") are relative to the page, in browsers.
  const u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/session";
  return u.toString();
}

export { RETRY as RETRYABLE_CLOSE_CODES };
