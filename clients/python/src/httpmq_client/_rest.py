"""What the admin and dataplane clients share: an httpx client, a base URL,
credentials and the JSON envelope."""

from __future__ import annotations

import importlib.util
import json
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ._auth import BearerAuth, TokenProvider, TokenSource
from .errors import APIError, ProtocolError, TransportError
from .subscription import Subscription

#: The header carrying a REST request's id, both ways.
REQUEST_ID_HEADER = "Httpmq-Request-ID"


def http2_available() -> bool:
    """Whether httpx can speak HTTP/2 here (the h2 package is installed)."""
    return importlib.util.find_spec("h2") is not None


def esc(segment: str) -> str:
    """Escapes one path segment."""
    return quote(segment, safe="")


class RestClient:
    """A base URL plus the envelope. Safe for concurrent use by many tasks."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        headers: Mapping[str, str] | None = None,
        http2: bool | None = None,
        timeout: float = 30.0,
        verify: ssl.SSLContext | str | bool = True,
        client: httpx.AsyncClient | None = None,
        refresh_margin: float = 30.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        if http2 is None:
            http2 = http2_available()
        self._own = client is None
        self._http = client or httpx.AsyncClient(http2=http2, timeout=timeout, verify=verify)
        self._headers = dict(headers or {})
        self._timeout = timeout
        source = TokenSource(token, token_provider, refresh_margin)
        self._auth: BearerAuth | None = BearerAuth(source) if token or token_provider else None
        self._subs: set[Subscription] = set()  # open REST subscriptions

    async def close(self) -> None:
        """Ends the client's open subscriptions and closes the connections of
        its own httpx client (not of one passed as ``client``). Idempotent."""
        for sub in list(self._subs):
            await sub.unsubscribe()
        if self._own:
            await self._http.aclose()

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        accept: str = "application/json",
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """Builds a request for path (already escaped), with a JSON body when
        body is not None."""
        items = [(k, v) for k, v in self._headers.items() if k.lower() != "accept"]
        items.append(("Accept", accept))
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            items.append(("Content-Type", "application/json"))
        items.extend(headers or ())
        return self._http.build_request(
            method,
            self._base + path,
            content=content,
            params=params,
            headers=items,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )

    async def _send(self, req: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            return await self._http.send(
                req, stream=stream, auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as e:
            raise _transport_error(req, e) from e

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Sends a request and returns the successful answer's body; a
        failure answer raises :class:`APIError`."""
        req = self._request(method, path, body=body)
        resp = await self._send(req)
        return decode_answer(resp.status_code, resp.headers, resp.content)


def _transport_error(req: httpx.Request, e: httpx.HTTPError) -> TransportError:
    return TransportError(f"httpmq: {req.method} {req.url.path}: {type(e).__name__}: {e}")


def decode_answer(status: int, headers: httpx.Headers, raw: bytes) -> dict[str, Any]:
    """Checks the envelope of a complete answer."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    ok = 200 <= status < 300
    if not isinstance(body, dict) or (ok and body.get("success") is not True):
        if ok:
            raise ProtocolError(f"httpmq: unexpected answer (HTTP {status}): {raw[:200]!r}")
        raise APIError(status, "", raw[:200].decode(errors="replace").strip(), request_id=headers.get(REQUEST_ID_HEADER, ""))
    if body.get("success") is not True or not ok:
        err = body.get("error")
        rid = body.get("request_id")
        raise APIError.from_error(
            err if isinstance(err, dict) else {},
            status=status,
            request_id=rid if isinstance(rid, str) else headers.get(REQUEST_ID_HEADER, ""),
        )
    return body
