"""One WebSocket of a session: URL, handshake, hello, and what a close
means."""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatusCode
from websockets.legacy.client import WebSocketClientProtocol, connect
from websockets.typing import Subprotocol

from ._rest import REQUEST_ID_HEADER
from .codec import Codec
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


@dataclass
class Connection:
    """An open WebSocket and what its server announced."""

    ws: WebSocketClientProtocol
    url: str
    hello: Hello


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
    return Connection(ws, url, hello)


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
