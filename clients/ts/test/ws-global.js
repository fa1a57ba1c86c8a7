// Preloaded (node --import) where Node has no WebSocket of its own (Node 18,
// Debian 12's): the ws package's stands in for the examples, which use the
// global one as a browser would.
import { WebSocket } from "ws";

globalThis.WebSocket ??= WebSocket;
