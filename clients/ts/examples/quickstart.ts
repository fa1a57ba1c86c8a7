import { AdminClient, Session } from "@httpmq/client";

const token = process.env.HTTPMQ_TOKEN; // only when the server requires authentication
const admin = new AdminClient(process.env.HTTPMQ_ADMIN ?? "http://127.0.0.1:3000", { token });
await admin.createStream({ name: "orders", subjects: ["orders.>"] });
await admin.createConsumer("orders", { name: "shipping", mode: "push", max_inflight: 16 });

const session = await Session.connect(process.env.HTTPMQ_SESSION ?? "ws://127.0.0.1:3001/v1/session", {
  codec: "msgpack",
  token, // or a function returning a fresh JWT: renewed before exp by itself
});
const ack = await session.publish("orders.new", JSON.stringify({ order: 1042 }), { msgId: "order-1042" });
console.log("stored in", ack.stream, "at", ack.sequence);

const sub = await session.subscribe("orders", "shipping");
for await (const msg of sub) {
  console.log(msg.subject, msg.json(), "delivery", msg.deliveries);
  await msg.ack(); // resolves once JetStream recorded it
  break; // leaving the loop unsubscribes
}
await session.close();
