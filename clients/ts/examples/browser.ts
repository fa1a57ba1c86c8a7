// A web page's use of the SDK (type-checked by npm run build; the page of
// test/browser.html runs the same calls in Chromium). The page gets
// short-lived JWTs from its own backend; the session renews them before exp.
import { HttpmqError, Session, type Message } from "@httpmq/client";

async function fetchToken(): Promise<string> {
  const r = await fetch("/api/httpmq-token", { credentials: "same-origin" });
  if (!r.ok) throw new Error(`token: HTTP ${r.status}`);
  return r.text();
}

export async function start(show: (text: string) => void): Promise<Session> {
  const session = await Session.connect("/v1/session", {
    token: fetchToken,
    WebSocket, // the browser's own (the default; shown here for the type check)
    onEvent: (ev) => console.debug("httpmq", ev.type),
  });
  await session.subscribe("CHAT", "user-1234", {
    maxInflight: 32,
    callback: async (msg: Message) => {
      show(msg.text());
      try {
        await msg.ack();
      } catch (e) {
        if (!(e instanceof HttpmqError && e.reason === "ack_not_pending")) throw e;
      }
    },
  });
  return session;
}
