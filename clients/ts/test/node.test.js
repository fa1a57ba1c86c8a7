// Runs the scenario on Node against the httpmq at HTTPMQ_TEST_BASE (a test
// server of clients/ts/ts_test.go) and prints one JSON line: the reports.
// Node 20 needs --experimental-websocket for a global WebSocket; without
// one (Node 18, Debian 12's), or with HTTPMQ_TEST_WS=ws, the sessions use the
// ws package (a devDependency) through the WebSocket option.
import * as sdk from "@httpmq/client";
import { scenario } from "./scenario.js";

let WebSocket = globalThis.WebSocket;
let which = "global";
if (!WebSocket || process.env.HTTPMQ_TEST_WS === "ws") {
  WebSocket = (await import("ws")).WebSocket;
  which = "ws";
}
const connect = sdk.Session.connect;
const withWS = { ...sdk, Session: { connect: (url, opts) => connect.call(sdk.Session, url, { WebSocket, ...opts }) } };

const base = process.env.HTTPMQ_TEST_BASE;
if (!base) {
  console.error("HTTPMQ_TEST_BASE is not set: run this through go test ./clients/ts");
  process.exit(2);
}
const get = async (path, init) => {
  const r = await fetch(base + path, init);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.text();
};
const reports = [];
try {
  for (const codec of ["json", "msgpack"]) {
    reports.push(
      await scenario(withWS, {
        base,
        ws: base.replace(/^http/, "ws") + "/v1/session",
        codec,
        token: () => get("/test/token"),
        badToken: () => get("/test/token?sub=someone-else"),
        drop: () => get("/test/drop", { method: "POST" }),
        expired: codec === "json" && which === "global",
        WebSocket,
      }),
    );
  }
  console.log(JSON.stringify({ ok: true, reports, websocket: which }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e), reports }));
}
// Nothing may keep the process alive: a timer or socket left behind would
// hang it, which the Go test notices.
