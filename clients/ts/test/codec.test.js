// The codecs against the protocol's golden frames (testdata/protocol/NAME.json
// and NAME.msgpack): both decode to the same frame, and what the SDK encodes
// decodes, in the server's other codec's golden form, to the same frame again.
// Prints one JSON line: {ok, checked, failures}.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonCodec, msgpackCodec } from "@httpmq/client";

const dir = process.argv[2] ?? "../../testdata/protocol";
const names = [...new Set(readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)))].sort();
const failures = [];

// canonical: numbers as numbers, bytes as arrays, keys sorted.
const canonical = (v) => {
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
};
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

for (const name of names) {
  const fromJSON = jsonCodec.decode(readFileSync(join(dir, name + ".json"), "utf8"));
  const fromMsgpack = msgpackCodec.decode(new Uint8Array(readFileSync(join(dir, name + ".msgpack"))));
  if (fromJSON.length !== 1 || fromMsgpack.length !== 1) {
    failures.push(`${name}: ${fromJSON.length} JSON frames, ${fromMsgpack.length} msgpack frames`);
    continue;
  }
  const [j, m] = [fromJSON[0], fromMsgpack[0]];
  if (!same(j, m)) failures.push(`${name}: JSON and msgpack differ: ${JSON.stringify(canonical(j))} vs ${JSON.stringify(canonical(m))}`);
  // Round trips through the SDK's encoders.
  const viaJSON = jsonCodec.decode(jsonCodec.encode(j))[0];
  const viaMsgpack = msgpackCodec.decode(msgpackCodec.encode(m))[0];
  if (!same(viaJSON, j)) failures.push(`${name}: JSON round trip differs: ${JSON.stringify(canonical(viaJSON))}`);
  if (!same(viaMsgpack, m)) failures.push(`${name}: msgpack round trip differs: ${JSON.stringify(canonical(viaMsgpack))}`);
}

// Several frames in one message, as the server batches them.
const two = readFileSync(join(dir, "ok.json"), "utf8").trim() + "\n" + readFileSync(join(dir, "msg.json"), "utf8").trim() + "\n";
if (jsonCodec.decode(two).map((f) => f.type).join() !== "ok,msg") failures.push("JSON: two frames in one message");
const twoMsgpack = new Uint8Array([...readFileSync(join(dir, "ok.msgpack")), ...readFileSync(join(dir, "msg.msgpack"))]);
if (msgpackCodec.decode(twoMsgpack).map((f) => f.type).join() !== "ok,msg") failures.push("msgpack: two frames in one message");

// Zero values are omitted, as the protocol says senders do.
const enc = jsonCodec.encode({ type: "ack", id: "", stream: "S", consumer: "c", stream_seq: 1, consumer_seq: 1, deliveries: 0, delay: undefined });
if (enc !== '{"type":"ack","stream":"S","consumer":"c","stream_seq":1,"consumer_seq":1}') failures.push("zero values not omitted: " + enc);

console.log(JSON.stringify({ ok: failures.length === 0, checked: names, failures }));
