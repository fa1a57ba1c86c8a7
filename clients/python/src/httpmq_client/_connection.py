"""One WebSocket of a session: URL, handshake, hello, and what a close
means."""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatusCode
from websockets.legacy.client import WebSocketClientProtocol, connect
from websockets.typing import Subprotocol

from ._rest import REQUEST_ID_HEADER
from .codec import Codec, WireMessage
from .errors import APIError, CloseError, ConnectionLostError, HttpmqError, ProtocolError, TransportError
from .events import Hello

#: Close codes after which a client reconnects (docs/protocol.md); any
#: other code the server sends ends the session. A connection that drops
#: without a close frame is reconnected too.
RECONNECT_CLOSE_CODES = frozenset({1001, 1011, 4000, 4001, 4002, 4004})
GOING_AWAY = 1001
AUTH_EXPIRED = 4004

# The largest message read: a 1 MiB payload in base64 JSON with headers
# fits many times over.
_MAX_READ = 32 << 20

# Reasons of handshake refusals, whose body websockets does not read
# (docs/protocol.md, "Connecting").
_HANDSHAKE_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 429: "rate_limited"}


def session_url(raw: str) -> str:
    """Normalises a session URL: http(s) becomes ws(s), no path means the
    server's ``/v1/session``."""
    u = urlsplit(raw)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(u.scheme)
    if scheme is None:
        raise ValueError(f"session URL {raw!r}: scheme must be ws, wss, http or https")
    path = u.path if u.path not in ("", "/") else "/v1/session"
    return urlunsplit((scheme, u.netloc, path, u.query, ""))


#: The most frames, and bytes, that go in one WebSocket message (as the Go
#: server and SDKs do).
BATCH_MAX_FRAMES = 128
BATCH_MAX_BYTES = 64 << 10
# Frames queued at which a sender waits for them to be written.
_BACKLOG_FRAMES = 4 * BATCH_MAX_FRAMES


@dataclass
class Connection:
    """An open WebSocket and what its server announced."""

    ws: WebSocketClientProtocol
    url: str
    hello: Hello
    codec: Codec
    _out: list[WireMessage] = field(default_factory=list)
    _flusher: asyncio.Task[None] | None = None

    async def send(self, data: WireMessage) -> None:
        """Queues an encoded frame. The frames queued until the sending task
        yields leave together, in as few WebSocket messages as the batch
        limits allow (the acks of a burst of messages, publishes gathered at
        once): the server reads and decodes one message instead of one per
        frame. A frame on a closed connection raises ConnectionClosed, as
        the WebSocket's send does; one queued as it closes is lost with it."""
        if not self.ws.open:
            await self.ws.send(data)  # raises why it is closed
            return
        self._out.append(data)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        if len(self._out) >= _BACKLOG_FRAMES:
            # A sender that never yields waits for the writes, as it did
            # for each frame when each was written at once.
            await self.flush()

    async def flush(self) -> None:
        """Waits until what was queued has been written (or dropped with the
        connection)."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # the sender's burst first
            limit = min(BATCH_MAX_BYTES, self.hello.max_frame or BATCH_MAX_BYTES)
            while self._out:
                n, size = 0, 0
                for f in self._out:
                    # A str's UTF-8 length is at most 3 bytes per character; +1 for the newline.
                    fsize = 3 * len(f) + 1 if isinstance(f, str) else len(f)
                    if n > 0 and (n >= BATCH_MAX_FRAMES or size + fsize > limit):
                        break
                    n, size = n + 1, size + fsize
                group, self._out = self._out[:n], self._out[n:]
                await self.ws.send(group[0] if n == 1 else self.codec.join(group))
        except ConnectionClosed:
            self._out.clear()  # the reader sees the close and tells the commands
        finally:
            self._flusher = None


async def dial(
    url: str,
    codec: Codec,
    headers: Mapping[str, str],
    *,
    open_timeout: float,
    ping_interval: float | None,
    ssl: _ssl.SSLContext | None,
    retry_unauthorized: bool,
) -> Connection:
    """Opens a connection to url and reads the server's hello. A refused
    handshake raises :class:`APIError` (retryable when a retry may succeed:
    429, 5xx, and 401 when new credentials can be had), an unreachable
    server :class:`TransportError`."""
    kw: dict[str, Any] = {"ssl": ssl} if ssl is not None and url.startswith("wss:") else {}
    try:
        ws = await connect(
            url,
            subprotocols=[Subprotocol(codec.name)],
            extra_headers=dict(headers),
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_interval,
            close_timeout=2,
            max_size=_MAX_READ,
            compression=None,
            **kw,
        )
    except InvalidStatusCode as e:
        status = e.status_code
        raise APIError(
            status,
            _HANDSHAKE_REASONS.get(status, ""),
            f"session handshake with {url} refused: HTTP {status}",
            retryable=status == 429 or status >= 500 or (status == 401 and retry_unauthorized),
            request_id=e.headers.get(REQUEST_ID_HEADER, ""),
        ) from e
    except (OSError, asyncio.TimeoutError, InvalidHandshake) as e:
        raise TransportError(f"httpmq: session handshake with {url}: {type(e).__name__}: {e}") from e
    try:
        if ws.subprotocol != codec.name:
            raise ProtocolError(f"httpmq: {url}: server chose subprotocol {ws.subprotocol!r}, not {codec.name!r}")
        frames, _ = codec.decode(await asyncio.wait_for(ws.recv(), open_timeout))
        if len(frames) != 1 or frames[0].get("type") != "hello":
            raise ProtocolError(f"httpmq: {url}: the first frame is not hello")
        f = frames[0]
        hello = Hello(
            session=str(f.get("session") or ""),
            max_frame=int_field(f.get("max_frame")),
            max_subs=int_field(f.get("max_subs")),
            heartbeat=int_field(f.get("heartbeat")) / 1e9,
            url=url,
            subprotocol=ws.subprotocol,
        )
    except BaseException as e:
        await ws.close(1002 if isinstance(e, ProtocolError) else 1000)
        if isinstance(e, (ConnectionClosed, asyncio.TimeoutError)):
            raise TransportError(f"httpmq: {url}: waiting for hello: {type(e).__name__}: {e}") from e
        raise
    return Connection(ws, url, hello, codec)


def close_status(err: BaseException) -> tuple[int | None, str]:
    """The close code and reason the server sent, if it sent one."""
    if isinstance(err, ConnectionClosed) and err.rcvd is not None:
        return err.rcvd.code, err.rcvd.reason
    return None, ""


def closed_error(code: int | None, reason: str, err: BaseException) -> HttpmqError:
    """Why a connection ended: the server's close code, or a lost
    connection."""
    if code is not None:
        return CloseError(code, reason)
    return ConnectionLostError(f"httpmq: connection lost: {err}")


def int_field(v: Any) -> int:
    """An integer field of a frame; absent or malformed is 0."""
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
