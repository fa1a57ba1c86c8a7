"""Bearer tokens: a fixed one, or fresh ones from a provider before they
expire."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import httpx

#: An async callable returning a fresh bearer token (a JWT, say).
TokenProvider = Callable[[], Awaitable[str]]


def token_expiry(token: str) -> float | None:
    """The ``exp`` of a JWT (Unix seconds), read without verifying it; None
    for tokens that are not JWTs (API keys) or have no ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


class TokenSource:
    """Hands out the token to send: the fixed one, or the provider's,
    fetching a new one once the current one nears its ``exp``: when
    ``refresh_margin`` seconds remain, or half its remaining life at the
    time it was fetched, whichever comes later."""

    def __init__(self, token: str | None, provider: TokenProvider | None, refresh_margin: float) -> None:
        if token is not None and provider is not None:
            raise ValueError("give token or token_provider, not both")
        self._token = token
        self._provider = provider
        self._margin = refresh_margin
        self._refresh_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def renewable(self) -> bool:
        """Whether new tokens can be had (a provider was given)."""
        return self._provider is not None

    def refresh_in(self) -> float | None:
        """Seconds until the current token should be replaced; None when it
        never needs to be."""
        if self._provider is None or self._refresh_at is None:
            return None
        return max(0.0, self._refresh_at - time.time())

    async def get(self) -> str | None:
        """The token to send now."""
        if self._provider is None:
            return self._token
        async with self._lock:
            if self._token is None or (self._refresh_at is not None and time.time() >= self._refresh_at):
                await self._fetch()
            return self._token

    async def refresh(self, stale: str | None = None) -> str | None:
        """A new token from the provider (once, when several callers find
        ``stale`` refused at the same time)."""
        if self._provider is None:
            return self._token
        async with self._lock:
            if stale is None or self._token == stale:
                await self._fetch()
            return self._token

    async def _fetch(self) -> None:
        assert self._provider is not None
        tok = await self._provider()
        if not isinstance(tok, str) or not tok:
            raise ValueError("the token provider returned no token")
        now = time.time()
        exp = token_expiry(tok)
        self._token = tok
        if exp is None:
            self._refresh_at = None
        else:
            remaining = exp - now
            self._refresh_at = now + max(remaining - self._margin, remaining / 2)


class BearerAuth(httpx.Auth):
    """httpx authentication from a :class:`TokenSource`; a 401 answer gets
    one retry with a fresh token when a provider can give one."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        tok = await self._source.get()
        if tok:
            request.headers["Authorization"] = "Bearer " + tok
        response = yield request
        if response.status_code == 401 and self._source.renewable:
            fresh = await self._source.refresh(stale=tok)
            if fresh and fresh != tok:
                request.headers["Authorization"] = "Bearer " + fresh
                yield request
