// Frame codecs of protocol v1: JSON (text messages, frames separated by
// newlines, payloads base64) and msgpack (binary messages, maps back to
// back, payloads bin). See docs/protocol.md.
import { decodeMulti, encode } from "@msgpack/msgpack";

/** A protocol frame: a flat map with a string `type`. */
export interface Frame {
  type: string;
  [field: string]: unknown;
}

/** The framing names a session may use. */
export type CodecName = "json" | "msgpack";

/** Encodes and decodes the frames of one WebSocket subprotocol. */
export interface Codec {
  readonly name: CodecName;
  /** The Sec-WebSocket-Protocol value, e.g. "httpmq.v1.json". */
  readonly subprotocol: string;
  /** Frames travel in binary (msgpack) or text (JSON) messages. */
  readonly binary: boolean;
  encode(frame: Frame): string | Uint8Array;
  /** Joins encoded frames into one WebSocket message (docs/protocol.md: a message carries one frame or several). */
  join(frames: (string | Uint8Array)[]): string | Uint8Array;
  /** Decodes one WebSocket message into its frames. */
  decode(data: string | ArrayBuffer | Uint8Array): Frame[];
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return textDecoder.decode(b);
}

/** Standard base64 with padding, as the JSON codec and REST use. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Drops zero values: the protocol says senders omit them ("zero means absent"). */
function compact(frame: Frame): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(frame)) {
    if (v === undefined || v === null || v === "" || v === 0 || v === false) continue;
    if (v instanceof Uint8Array && v.length === 0) continue;
    if (typeof v === "object" && !(v instanceof Uint8Array) && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out;
}

function asFrame(v: unknown): Frame {
  if (v === null || typeof v !== "object" || Array.isArray(v) || typeof (v as Frame).type !== "string") {
    throw new Error("httpmq: received a frame that is not a map with a type");
  }
  return v as Frame;
}

const bigintMark = "\u0000bigint:";
const bigintPattern = /"\\u0000bigint:(-?\d+)"/g;

/** JSON framing: `httpmq.v1.json`. */
export const jsonCodec: Codec = {
  name: "json",
  subprotocol: "httpmq.v1.json",
  binary: false,
  encode(frame) {
    const f = compact(frame);
    if (f.data instanceof Uint8Array) f.data = toBase64(f.data);
    // int64 fields past 2^53 (since, in Unix nanoseconds) travel as
    // bigint and are written as exact JSON integers.
    return JSON.stringify(f, (_, v) => (typeof v === "bigint" ? bigintMark + v.toString() : v)).replace(
      bigintPattern,
      "$1",
    );
  },
  join(frames) {
    return frames.join("\n");
  },
  decode(data) {
    const text = typeof data === "string" ? data : fromUtf8(data instanceof Uint8Array ? data : new Uint8Array(data));
    const frames: Frame[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const f = asFrame(JSON.parse(line));
      if (typeof f.data === "string") f.data = fromBase64(f.data);
      frames.push(f);
    }
    return frames;
  },
};

/** msgpack framing: `httpmq.v1.msgpack`. */
export const msgpackCodec: Codec = {
  name: "msgpack",
  subprotocol: "httpmq.v1.msgpack",
  binary: true,
  encode(frame) {
    return encode(compact(frame), { ignoreUndefined: true, useBigInt64: true });
  },
  join(frames) {
    const parts = frames as Uint8Array[];
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
  decode(data) {
    if (typeof data === "string") throw new Error("httpmq: text message on the msgpack subprotocol");
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const frames: Frame[] = [];
    for (const v of decodeMulti(bytes)) frames.push(asFrame(v));
    return frames;
  },
};

export function codecFor(name: CodecName): Codec {
  return name === "msgpack" ? msgpackCodec : jsonCodec;
}
