// The SDK's end-to-end scenario against a real httpmq, run by headless
// Chromium (test/browser.html) and by Node (test/node.test.js); the Go test
// (clients/ts/ts_test.go) starts the server and reads the report.
//
// env:
//   base    the server's origin, for the management API (http(s)://host:port)
//   ws      the session URL (ws(s)://host:port/v1/session)
//   codec   "json" or "msgpack"
//   token   async () => a fresh JWT (short-lived: the scenario waits for a renewal)
//   badToken async () => a valid JWT of another identity (the auth frame is refused)
//   drop    async () => the server drops every session (1001 going_away)
//   expired boolean: also run the 4004 auth_expired part
//   WebSocket the WebSocket constructor (default globalThis.WebSocket)

const deadline = (ms) => Date.now() + ms;

async function waitFor(what, cond, ms = 10000) {
  const end = deadline(ms);
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// next reads the next message of an iterator, with a deadline.
async function next(it, what, ms = 10000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out waiting for " + what)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error("subscription ended while waiting for " + what);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

async function rejection(p) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

export async function scenario(sdk, env) {
  const { AdminClient, HttpmqError, Session } = sdk;
  const report = { codec: env.codec, checks: [], failures: [], events: [] };
  const check = (name, ok, detail) => {
    report.checks.push(name);
    if (!ok) report.failures.push(name + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
  };
  const run = Math.random().toString(36).slice(2, 8);
  const stream = `TS_${env.codec}_${run}`;
  const subj = `sdk.${env.codec}${run}`;
  const admin = new AdminClient(env.base, { token: env.token });

  // --- management API ---
  const created = await admin.createStream({ name: stream, subjects: [subj + ".>"], description: "ts sdk" });
  check("createStream", created.config.name === stream && created.config.subjects[0] === subj + ".>", created.config);
  const again = await admin.createStream({ name: stream, subjects: [subj + ".>"], description: "ts sdk" });
  check("createStream is idempotent", again.config.name === stream);
  const conflict = await rejection(admin.createStream({ name: stream, subjects: [subj + ".other"] }));
  check("createStream conflict is 409 stream_exists", conflict instanceof HttpmqError && conflict.code === 409 && conflict.reason === "stream_exists", String(conflict));
  const missing = await rejection(admin.getStream("NOPE_" + run));
  check("getStream missing: HttpmqError 404 stream_not_found", missing instanceof HttpmqError && missing.code === 404 && missing.reason === "stream_not_found" && !!missing.requestId, String(missing));
  const bad = await rejection(admin.createStream({ name: "a.b" }));
  check("invalid name: 400 invalid_name", bad instanceof HttpmqError && bad.code === 400 && bad.reason === "invalid_name", String(bad));
  const streams = await admin.listStreams();
  check("listStreams", stream in streams, Object.keys(streams));
  const updated = await admin.updateStream(stream, { description: "updated", max_msgs: 1000 });
  check("updateStream", updated.config.description === "updated" && updated.config.max_msgs === 1000, updated.config);
  const limited = await admin.updateStreamLimits(stream, { max_bytes: 1 << 20 });
  check("updateStreamLimits", limited.config.max_bytes === 1 << 20, limited.config);
  const consumer = await admin.createConsumer(stream, { name: "c", mode: "push", filter_subject: subj + ".work", max_inflight: 100 });
  check("createConsumer", consumer.name === "c" && consumer.config.mode === "push", consumer.config);
  await admin.createConsumer(stream, { name: "cb", mode: "pull", filter_subject: subj + ".cb" });
  const consumers = await admin.listConsumers(stream);
  check("listConsumers", "c" in consumers && "cb" in consumers, Object.keys(consumers));
  const got = await admin.getConsumer(stream, "c");
  check("getConsumer", got.stream_name === stream && got.config.filter_subject === subj + ".work", got);
  const noFilter = await rejection(admin.createConsumer(stream, { name: "x", mode: "push", filter_subject: "elsewhere.x" }));
  check("createConsumer outside the stream: 400 filter_not_in_stream", noFilter instanceof HttpmqError && noFilter.reason === "filter_not_in_stream", String(noFilter));

  // --- session ---
  // Nobody listens: connect retries until connectTimeout, then rejects and stops.
  const t0 = Date.now();
  const nobody = await rejection(Session.connect("ws://127.0.0.1:9/v1/session", { codec: env.codec, connectTimeout: 500, reconnect: { initialDelay: 20 } }));
  check("connect to nobody rejects after connectTimeout", nobody instanceof HttpmqError && nobody.reason === "client_timeout" && Date.now() - t0 < 5000, String(nobody));

  let connects = 0;
  let reconnects = 0;
  let refreshed = 0;
  const disconnects = [];
  const resubscribed = [];
  const errors = [];
  let expiredSeen = false;
  let tokens = 0;
  let pingsSent = 0; // JSON only: ping frames, from keep-alive and session.ping()
  const Base = env.WebSocket ?? globalThis.WebSocket;
  class Counting extends Base {
    send(data) {
      if (typeof data === "string" && data.includes('"type":"ping"')) pingsSent++;
      super.send(data);
    }
  }
  const session = await Session.connect(env.ws, {
    codec: env.codec,
    WebSocket: Counting,
    token: async () => {
      tokens++;
      return env.token();
    },
    reconnect: { initialDelay: 50, maxDelay: 500 },
    onEvent: (ev) => {
      report.events.push(ev.type + (ev.code ? " " + ev.code : "") + (ev.sub ? " " + ev.sub : ""));
      if (ev.type === "connected") (ev.reconnect ? reconnects++ : connects++);
      if (ev.type === "disconnected") disconnects.push(ev.code);
      if (ev.type === "resubscribed") resubscribed.push(ev.sub);
      if (ev.type === "token_refreshed") refreshed++;
      if (ev.type === "error") errors.push(ev.error);
    },
  });
  check("hello", session.hello.version === 1 && session.hello.maxSubs > 0 && session.connected, session.hello);

  const sub = await session.subscribe(stream, "c", { filter: subj + ".>", maxInflight: 10 });
  const it = sub[Symbol.asyncIterator]();
  const missingSub = await rejection(session.subscribe(stream, "nope"));
  check("subscribe to a missing consumer: 404 consumer_not_found", missingSub instanceof HttpmqError && missingSub.code === 404 && missingSub.reason === "consumer_not_found", String(missingSub));

  // publish: msgId de-duplication, headers, binary payloads
  const p1 = await session.publish(subj + ".work", "first", { msgId: "m1-" + run, headers: { "X-Test": "a", "X-Multi": ["1", "2"] } });
  check("publish", p1.stream === stream && p1.sequence === 1 && p1.duplicate === false, p1);
  const p1again = await session.publish(subj + ".work", "first", { msgId: "m1-" + run });
  check("publish duplicate", p1again.duplicate === true && p1again.sequence === 1, p1again);
  const binary = new Uint8Array([0, 1, 2, 127, 128, 254, 255, 10, 13]);
  await session.publish(subj + ".work", binary);
  await session.publish(subj + ".work", "third");
  const huge = await rejection(session.publish(subj + ".work", new Uint8Array(session.hello.maxFrame + 1)));
  check("publish over max_frame: 413 payload_too_large, refused by the client", huge instanceof HttpmqError && huge.code === 413 && huge.reason === "payload_too_large" && session.connected, String(huge));
  const noStream = await rejection(session.publish("nowhere." + run, "x"));
  check("publish without a stream: 404 no_stream_for_subject", noStream instanceof HttpmqError && noStream.code === 404 && noStream.reason === "no_stream_for_subject", String(noStream));

  // confirmed ack, duplicate ack, nak after ack
  const m1 = await next(it, "message 1");
  check("message 1", m1.text() === "first" && m1.subject === subj + ".work" && m1.streamSeq === 1 && m1.deliveries === 1 &&
    m1.headers["X-Test"]?.[0] === "a" && m1.headers["X-Multi"]?.length === 2 && m1.date.getFullYear() >= 2024, { text: m1.text(), headers: m1.headers, seq: m1.streamSeq });
  const a1 = await m1.ack();
  check("confirmed ack", a1.confirmed === true && a1.duplicate === false, a1);
  const a1again = await m1.ack();
  check("second ack: duplicate", a1again.confirmed === true && a1again.duplicate === true, a1again);
  const nakAfter = await rejection(m1.nak());
  check("nak after ack: 409 ack_not_pending", nakAfter instanceof HttpmqError && nakAfter.code === 409 && nakAfter.reason === "ack_not_pending", String(nakAfter));

  // a fire-and-forget term after the ack: its failure comes as an error event naming the delivery
  await m1.term("too late", { confirm: false });
  const lateErr = await waitFor("the error event of a fire-and-forget term", () => errors.find((e) => e.reason === "ack_not_pending"));
  errors.splice(errors.indexOf(lateErr), 1);
  check("fire-and-forget failure: error event with the delivery", lateErr.code === 409 && lateErr.delivery?.streamSeq === m1.streamSeq &&
    lateErr.delivery?.consumer === "c", { code: lateErr.code, delivery: lateErr.delivery });

  // fire-and-forget ack of the binary message
  const m2 = await next(it, "message 2");
  check("binary payload", m2.data.length === binary.length && m2.data.every((b, i) => b === binary[i]), Array.from(m2.data));
  const a2 = await m2.ack({ confirm: false });
  check("fire-and-forget ack", a2.confirmed === false);
  await waitFor("the fire-and-forget ack", async () => (await admin.getConsumer(stream, "c")).ack_floor.stream_seq >= 2);

  // progress, nak → redelivery, term
  const m3 = await next(it, "message 3");
  // (Fire-and-forget progress is left out here: it may reach JetStream after
  // the nak and restart the ack wait, delaying the redelivery by 30 s.)
  const pr = await m3.progress();
  check("progress", pr.confirmed === true, pr);
  const n3 = await m3.nak(50);
  check("nak", n3.confirmed === true, n3);
  const m3again = await next(it, "message 3 redelivered");
  check("redelivery after nak", m3again.streamSeq === m3.streamSeq && m3again.deliveries === 2, { seq: m3again.streamSeq, deliveries: m3again.deliveries });
  await m3again.term("done with it");
  await waitFor("the term", async () => (await admin.getConsumer(stream, "c")).ack_floor.stream_seq >= 3);

  // a callback subscription on a pull consumer, acked fire-and-forget
  const viaCallback = [];
  const cbSub = await session.subscribe(stream, "cb", {
    callback: async (msg) => {
      viaCallback.push(msg.text());
      await msg.ack({ confirm: false });
    },
  });
  await session.publish(subj + ".cb", "to the callback");
  await waitFor("the callback", () => viaCallback.length === 1);
  check("callback subscription", viaCallback[0] === "to the callback", viaCallback);

  // --- live subject: recover the last 2, then live; resumed after the reconnect below ---
  for (const t of ["l1", "l2", "l3"]) await session.publish(subj + ".live", t);
  const live = await session.listen(subj + ".live", { last: 2 });
  const liveIt = live[Symbol.asyncIterator]();
  const l2 = await next(liveIt, "live l2");
  const l3 = await next(liveIt, "live l3");
  check("listen recovers the last 2, without consumer", l2.text() === "l2" && l3.text() === "l3" && live.recovered === true &&
    l3.consumer === "" && l3.stream === stream && live.subject === subj + ".live", { l2: l2.text(), l3: l3.text(), recovered: live.recovered });
  const recent = await session.listen(subj + ".live", { since: new Date(Date.now() - 60000) });
  const recentIt = recent[Symbol.asyncIterator]();
  const r1 = await next(recentIt, "live since a minute ago");
  check("listen since a time (int64 nanoseconds on the wire)", r1.text() === "l1" && recent.recovered === true, r1.text());
  await recent.unsubscribe();

  // --- the server drops the session: reconnect and resubscribe ---
  const before = reconnects;
  await env.drop();
  await waitFor("a reconnect", () => reconnects > before);
  await waitFor("both resubscriptions", () => resubscribed.includes(sub.sub) && resubscribed.includes(cbSub.sub));
  check("reconnect after going_away", disconnects.includes(1001), disconnects);
  const p4 = await session.publish(subj + ".work", "after the reconnect");
  const m4 = await next(it, "a message after the reconnect");
  check("delivery after the reconnect", m4.text() === "after the reconnect" && m4.streamSeq === p4.sequence, { text: m4.text() });
  await m4.ack();
  await session.publish(subj + ".cb", "callback after the reconnect");
  await waitFor("the callback after the reconnect", () => viaCallback.length === 2);
  await waitFor("the live resubscription", () => resubscribed.includes(live.sub));
  const pl = await session.publish(subj + ".live", "l4");
  const l4 = await next(liveIt, "live l4 after the reconnect");
  check("live resumes after the reconnect, nothing repeated", l4.text() === "l4" && l4.streamSeq === pl.sequence, l4.text());
  await live.unsubscribe();

  // --- token renewal through the auth frame ---
  await waitFor("a token renewal", () => refreshed > 0, 15000);
  check("token renewed by an auth frame, not a reconnect", refreshed > 0 && !disconnects.includes(4004), { refreshed, disconnects });
  check("session ping", (await session.ping()) >= 0);
  check("no disconnect but the planned one (keep-alive pings all along)", disconnects.length === 1, disconnects);
  if (env.codec === "json") {
    // session.ping() sent one; the keep-alive sends one every heartbeat (2 s here).
    await waitFor("keep-alive pings", () => pingsSent >= 3, 8000).catch(() => undefined);
    check("keep-alive sends ping frames every heartbeat", pingsSent >= 3, pingsSent);
  }

  // the server ends a subscription for good: its consumer is deleted
  await admin.createConsumer(stream, { name: "doomed", mode: "pull", filter_subject: subj + ".doomed" });
  const doomed = await session.subscribe(stream, "doomed");
  const doomedIt = doomed[Symbol.asyncIterator]();
  const pendingNext = rejection(doomedIt.next());
  await admin.deleteConsumer(stream, "doomed");
  let timer;
  const why = await Promise.race([doomed.closed, new Promise((r) => (timer = setTimeout(() => r("no closed frame within 10 s"), 10000)))]);
  clearTimeout(timer); // a timer left behind would keep Node running
  check("consumer deleted: closed frame ends the subscription with 404 consumer_not_found",
    why instanceof HttpmqError && why.code === 404 && why.reason === "consumer_not_found" && why.sub === doomed.sub, String(why));
  const thrown = await pendingNext;
  check("consumer deleted: the waiting iteration throws it", thrown === why, String(thrown));
  check("consumer deleted: not resubscribed", !session.subscriptions.includes(doomed));

  // unsubscribe: the iteration ends
  await sub.unsubscribe();
  const end = await it.next();
  check("iteration ends after unsubscribe", end.done === true);
  check("no stray errors", errors.length === 0, errors.map(String));

  await session.close();
  const afterClose = await rejection(session.publish(subj + ".work", "x"));
  check("publish after close rejects", afterClose instanceof sdk.SessionClosedError, String(afterClose));
  check("callback subscription ended by close", (await cbSub.closed) === undefined);

  // --- 4004: a refused renewal, then a reconnect with a fresh token ---
  if (env.expired) {
    let expired = false;
    let good = 0;
    const events = [];
    const s2 = await Session.connect(env.ws, {
      codec: env.codec,
      reconnect: { initialDelay: 50, maxDelay: 500 },
      // The renewal gets another identity's token (refused with forbidden),
      // so the server closes at exp with 4004; the reconnect after it gets a
      // good one again.
      token: async () => (good++ === 0 || expired ? env.token() : env.badToken()),
      onEvent: (ev) => {
        events.push(ev.type + (ev.code ? " " + ev.code : ""));
        if (ev.type === "disconnected" && ev.code === 4004) expired = true;
      },
    });
    const s2sub = await s2.subscribe(stream, "c");
    const s2it = s2sub[Symbol.asyncIterator]();
    await waitFor("4004 and a reconnect", () => expired && s2.connected && events.includes("resubscribed"), 15000);
    const forbidden = events.includes("error");
    await s2.publish(subj + ".work", "after 4004");
    const m5 = await next(s2it, "a message after 4004");
    await m5.ack();
    check("4004 auth_expired: reconnect with a fresh token, resubscribed", m5.text() === "after 4004" && forbidden, events);
    await s2.close();
  }

  // --- a close code that forbids reconnecting: a message of the wrong kind
  // (binary on JSON, text on msgpack) is closed with 1002 protocol_error ---
  {
    let corrupt = false;
    class Corrupting extends Base {
      send(data) {
        super.send(!corrupt ? data : env.codec === "json" ? new Uint8Array([1, 2, 3]) : "not msgpack");
      }
    }
    let connected = 0;
    const s3events = [];
    const s3 = await Session.connect(env.ws, {
      codec: env.codec,
      token: env.token,
      WebSocket: Corrupting,
      reconnect: { initialDelay: 50, maxDelay: 500 },
      onEvent: (ev) => {
        s3events.push(ev.type + (ev.code ? " " + ev.code + " " + ev.reason : "") + (ev.error ? " " + ev.error : ""));
        if (ev.type === "connected") connected++;
      },
    });
    const s3sub = await s3.subscribe(stream, "c");
    corrupt = true;
    const lost = await rejection(s3.publish(subj + ".work", "never stored"));
    const done = await s3.done;
    check("1002: the command in flight fails", lost instanceof HttpmqError && (lost.reason === "connection_lost" || lost.reason === "session_closed"), String(lost));
    // (Once, on a loaded machine, Node saw the first close as a drop, 1006,
    // and rightly reconnected; the resubscription's frame, corrupted too, then
    // got the 1002. What matters: after a 1002 the session ends for good.)
    check("1002: the session ends without reconnecting", done instanceof sdk.SessionClosedError && done.closeCode === 1002 && !s3.connected &&
      (connected === 1 || (connected === 2 && s3events.some((e) => e.startsWith("disconnected 1006")))),
      { code: done.closeCode, reason: done.closeReason, connected, s3events });
    const ended = await rejection(s3sub.next());
    check("1002: subscriptions end with the SessionClosedError", ended === done, String(ended));
    const after = await rejection(s3.publish(subj + ".work", "x"));
    check("1002: later commands reject with it", after === done, String(after));
  }

  // --- frames sent during one task travel together: 50 publishes started
  // at once go out in one WebSocket message, and each gets its own answer ---
  {
    let sends = 0;
    class Sends extends Base {
      send(data) {
        sends++;
        super.send(data);
      }
    }
    const s4 = await Session.connect(env.ws, { codec: env.codec, token: env.token, WebSocket: Sends });
    const before = sends;
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => s4.publish(subj + ".burst", "b" + i)));
    const used = sends - before; // (a keep-alive ping could make it 2)
    const seqs = new Set(burst.map((p) => p.sequence));
    check("50 publishes of one task: one WebSocket message, 50 answers", used <= 2 && seqs.size === 50 && burst.every((p) => p.stream === stream),
      { used, distinct: seqs.size });
    const one = await s4.publish(subj + ".burst", "alone");
    check("then a lone publish", one.sequence > Math.max(...seqs), one);
    await s4.close();
  }

  await admin.deleteConsumer(stream, "cb");
  await admin.deleteStream(stream);
  const gone = await rejection(admin.getStream(stream));
  check("deleteStream", gone instanceof HttpmqError && gone.reason === "stream_not_found", String(gone));
  report.tokens = tokens;
  return report;
}
