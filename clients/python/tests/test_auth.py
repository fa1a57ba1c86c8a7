"""Credentials against an httpmq that requires JWTs: bearer tokens on REST
and sessions, permissions, and tokens renewed before they expire."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import EventLog, HttpmqServer, eventually, make_jwt

from httpmq_client import Admin, APIError, CloseError, Dataplane, EventKind, Session
from httpmq_client._auth import token_expiry

# What the tests' dataplane identities may do.
WORKER = {"publish": ["auth.>"], "subscribe": ["AUTH/*"]}


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return os.urandom(32).hex().encode()


@pytest.fixture(scope="module")
def auth_server(httpmq_binary: Path, tmp_path_factory: pytest.TempPathFactory, secret: bytes) -> Iterator[HttpmqServer]:
    d = tmp_path_factory.mktemp("auth")
    (d / "jwt.secret").write_bytes(secret)
    s = HttpmqServer(httpmq_binary, d / "data", "--auth-jwt-secret-file", str(d / "jwt.secret"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def stream(auth_server: HttpmqServer, secret: bytes) -> str:
    """The stream AUTH (subjects auth.>) with a pull consumer w."""

    async def setup() -> None:
        async with Admin(auth_server.admin_url, token=make_jwt(secret, "ops", 600, {"admin": "full"})) as a:
            await a.create_stream("AUTH", subjects=["auth.>"])
            await a.create_consumer("AUTH", "w", mode="pull")

    asyncio.run(setup())
    return "AUTH"


async def _consumer(server: HttpmqServer, secret: bytes, stream: str, name: str) -> str:
    """A pull consumer of the test's own subject auth.<name>; returns the
    subject."""
    async with Admin(server.admin_url, token=make_jwt(secret, "ops", 60, {"admin": "full"})) as a:
        await a.create_consumer(stream, name, mode="pull", filter_subject=f"auth.{name}")
    return f"auth.{name}"


async def test_admin_permissions(auth_server: HttpmqServer, secret: bytes, stream: str) -> None:
    async with Admin(auth_server.admin_url) as anonymous:
        await anonymous.ready()  # probes need no credentials
        with pytest.raises(APIError) as e:
            await anonymous.streams()
        assert (e.value.status, e.value.reason) == (401, "unauthorized")
    async with Admin(auth_server.admin_url, token=make_jwt(secret, "auditor", 60, {"admin": "read"})) as reader:
        assert stream in await reader.streams()
        with pytest.raises(APIError) as e:
            await reader.delete_stream(stream)
        assert (e.value.status, e.value.reason) == (403, "forbidden")


async def test_rest_token_provider(auth_server: HttpmqServer, secret: bytes, stream: str) -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return make_jwt(secret, "app", 600, WORKER)

    async with Dataplane(auth_server.data_url, token_provider=provider) as dp:
        for _ in range(3):
            await dp.publish("auth.rest", b"x")
        with pytest.raises(APIError) as e:
            await dp.publish("elsewhere", b"x")
        assert (e.value.status, e.value.reason) == (403, "forbidden")
    assert calls == 1  # cached until it nears its expiry


async def test_session_handshake_refused(auth_server: HttpmqServer, secret: bytes) -> None:
    for token in (None, make_jwt(b"another secret of thirty-two bytes!", "app", 60, WORKER)):
        with pytest.raises(APIError) as e:
            await Session.connect(auth_server.session_url, token=token)
        assert (e.value.status, e.value.reason, e.value.retryable) == (401, "unauthorized", False)


async def test_session_forbidden_is_an_error_frame(auth_server: HttpmqServer, secret: bytes, stream: str) -> None:
    log = EventLog()
    token = make_jwt(secret, "app", 60, {"publish": ["auth.>"]})
    async with Session.connect(auth_server.session_url, token=token, codec="msgpack", on_event=log) as s:
        with pytest.raises(APIError) as e:
            await s.subscribe(stream, "w")
        assert e.value.reason == "forbidden"
        await s.publish("auth.ok", b"x")  # the session goes on


async def test_token_renewed_in_place(auth_server: HttpmqServer, secret: bytes, stream: str) -> None:
    """Tokens live 2-3 s; the session replaces each one with an auth frame
    before it expires and never disconnects."""
    first_exp = 0.0

    async def provider() -> str:
        nonlocal first_exp
        tok = make_jwt(secret, "app", 2, WORKER)
        first_exp = first_exp or token_expiry(tok) or 0.0
        return tok

    subject = await _consumer(auth_server, secret, stream, "renewed")
    log = EventLog()
    async with Session.connect(auth_server.session_url, token_provider=provider, on_event=log) as s:
        sub = await s.subscribe(stream, "renewed")
        await eventually(lambda: time.time() > first_exp + 0.5, "the first token to be expired")
        assert log.of(EventKind.AUTH_REFRESHED)
        assert not log.of(EventKind.DISCONNECTED), log.events
        await s.publish(subject, b"still here")
        m = await asyncio.wait_for(sub.next(), 10)
        assert m.data == b"still here"
        await m.ack()


async def test_expired_session_reconnects_with_fresh_token(
    auth_server: HttpmqServer, secret: bytes, stream: str
) -> None:
    """The renewal is refused (the provider now hands out another
    identity's tokens): the server closes with 4004 at the expiry, and the
    session reconnects with a fresh token and resubscribes."""
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return make_jwt(secret, "app" if calls == 1 else "app-v2", 2, WORKER)

    subject = await _consumer(auth_server, secret, stream, "expired")
    log = EventLog()
    async with Session.connect(
        auth_server.session_url, token_provider=provider, on_event=log, reconnect_wait=0.05
    ) as s:
        sub = await s.subscribe(stream, "expired")
        failed = await log.wait(EventKind.AUTH_FAILED)
        assert isinstance(failed.error, APIError) and failed.error.reason == "forbidden"
        down = await log.wait(EventKind.DISCONNECTED)
        assert isinstance(down.error, CloseError) and down.error.code == 4004
        await log.wait(EventKind.RESUBSCRIBED)
        await s.publish(subject, b"after 4004")
        m = await asyncio.wait_for(sub.next(), 10)
        assert m.data == b"after 4004"
        await m.ack()


async def test_static_token_expiry_ends_session(auth_server: HttpmqServer, secret: bytes) -> None:
    log = EventLog()
    s = await Session.connect(auth_server.session_url, token=make_jwt(secret, "app", 1, WORKER), on_event=log)
    await asyncio.wait_for(s.wait_closed(), 10)
    assert isinstance(s.error, CloseError) and s.error.code == 4004
    assert not log.of(EventKind.RECONNECTED)
    await s.close()
