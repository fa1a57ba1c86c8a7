"""WebSocket sessions against a real httpmq, in both codecs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from support import EventLog, HttpmqServer, eventually

from httpmq_client import (
    AckKind,
    AckRequest,
    Admin,
    APIError,
    CloseError,
    EventKind,
    Message,
    Session,
    SessionClosedError,
    TransportError,
)


@pytest.fixture(params=["json", "msgpack"])
def codec(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def events() -> EventLog:
    return EventLog()


@pytest_asyncio.fixture
async def session(server: HttpmqServer, codec: str, events: EventLog) -> AsyncIterator[Session]:
    async with Session.connect(server.session_url, codec=codec, on_event=events) as s:
        yield s


async def _stream(admin: Admin, unique: Callable[[str], str], mode: str = "pull", **consumer: object) -> str:
    name = unique("ses")
    await admin.create_stream(name, subjects=[f"{name}.>"])
    await admin.create_consumer(name, "c", mode=mode, **consumer)  # type: ignore[arg-type]
    return name


async def test_hello(session: Session, codec: str) -> None:
    h = session.hello
    assert h.session
    assert h.max_frame > 0 and h.max_subs > 0 and h.heartbeat > 0
    assert h.subprotocol == f"httpmq.v1.{codec}"
    await session.ping()


async def test_publish_subscribe_ack(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    payload = bytes(range(256))  # binary-safe in both codecs
    ack = await session.publish(f"{name}.a", payload, headers={"Trace-Id": "t1", "A": ["1", "2"]}, msg_id="id-1")
    assert (ack.stream, ack.sequence, ack.duplicate) == (name, 1, False)
    dup = await session.publish(f"{name}.a", payload, msg_id="id-1")
    assert (dup.sequence, dup.duplicate) == (1, True)

    async with session.subscribe(name, "c", max_inflight=8) as sub:
        m = await asyncio.wait_for(sub.next(), 10)
        assert (m.subject, m.stream, m.consumer, m.data) == (f"{name}.a", name, "c", payload)
        assert (m.stream_seq, m.consumer_seq, m.deliveries) == (1, 1, 1)
        assert m.headers["Trace-Id"] == ["t1"] and m.headers["A"] == ["1", "2"]
        assert m.header("Nats-Msg-Id") == "id-1"
        assert m.time_ns > 0
        r = await m.ack()
        assert r.confirmed and not r.duplicate
        # Again: a success that says so (servers before that change: ack_not_pending).
        try:
            r = await m.ack()
        except APIError as e:
            assert e.reason == "ack_not_pending"
        else:
            assert r.confirmed and r.duplicate
    await admin.delete_stream(name)


async def test_fire_and_forget_ack(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    for i in range(5):
        await session.publish(f"{name}.a", f"m{i}")
    async with session.subscribe(name, "c") as sub:
        for _ in range(5):
            m = await asyncio.wait_for(sub.next(), 10)
            r = await m.ack(no_wait=True)
            assert not r.confirmed

    async def acked() -> bool:
        return (await admin.consumer(name, "c")).ack_floor.stream_seq == 5

    await eventually(acked, "the fire-and-forget acks to be recorded")
    await admin.delete_stream(name)


async def test_frames_of_a_burst_travel_together(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    """Publishes gathered at once leave in one WebSocket message and each
    gets its own answer; the fire-and-forget acks of messages read without
    waiting go together too, and all count."""
    name = await _stream(admin, unique)
    conn = session._conn
    assert conn is not None
    sent: list[object] = []
    real = conn.ws.send

    async def counting(data: object) -> None:
        sent.append(data)
        await real(data)  # type: ignore[arg-type]

    conn.ws.send = counting  # type: ignore[method-assign]
    acks = await asyncio.gather(*(session.publish(f"{name}.a", f"m{i}") for i in range(50)))
    assert len({a.sequence for a in acks}) == 50
    assert len(sent) <= 2, f"{len(sent)} messages for 50 publishes"  # (a keep-alive ping could make it 2)

    async with session.subscribe(name, "c", max_inflight=50) as sub:
        msgs = [await asyncio.wait_for(sub.next(), 10) for _ in range(50)]
        sent.clear()
        for m in msgs:
            await m.ack(no_wait=True)
        await conn.flush()
        assert 1 <= len(sent) <= 2, f"{len(sent)} messages for 50 acks"

    async def acked() -> bool:
        return (await admin.consumer(name, "c")).ack_floor.stream_seq == 50

    await eventually(acked, "the fire-and-forget acks to be recorded")
    await admin.delete_stream(name)


async def test_nak_term_progress(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique, ack_wait=30)
    await session.publish(f"{name}.a", b"work")
    async with session.subscribe(name, "c") as sub:
        m = await asyncio.wait_for(sub.next(), 10)
        await m.progress()
        await m.progress(no_wait=True)
        await m.nak()
        again = await asyncio.wait_for(sub.next(), 10)
        assert (again.stream_seq, again.deliveries) == (m.stream_seq, 2)
        await again.nak(delay=0.2, no_wait=True)
        third = await asyncio.wait_for(sub.next(), 10)
        assert third.deliveries == 3
        await third.term("gave up")
    info = await admin.consumer(name, "c")
    assert info.num_ack_pending == 0 and info.ack_floor.stream_seq == 1
    await admin.delete_stream(name)


async def test_ack_by_numbers_from_another_session(
    server: HttpmqServer, session: Session, admin: Admin, unique: Callable[[str], str], codec: str
) -> None:
    name = await _stream(admin, unique)
    await session.publish(f"{name}.a", b"x")
    async with session.subscribe(name, "c") as sub:
        m = await asyncio.wait_for(sub.next(), 10)
    async with Session.connect(server.session_url, codec=codec) as other:
        r = await other.ack(m.request(AckKind.ACK))
        assert r.confirmed
    assert (await admin.consumer(name, "c")).ack_floor.stream_seq == 1
    await admin.delete_stream(name)


async def test_callback_and_unsubscribe(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    got: list[Message] = []
    three = asyncio.Event()

    def handle(m: Message) -> None:  # a plain function works too
        got.append(m)
        if len(got) == 3:
            three.set()

    sub = await session.subscribe(name, "c", callback=handle)
    for i in range(3):
        await session.publish(f"{name}.a", f"m{i}")
    await asyncio.wait_for(three.wait(), 10)
    await sub.unsubscribe()
    await sub.unsubscribe()  # idempotent
    assert [m.data for m in got] == [b"m0", b"m1", b"m2"]
    assert [m async for m in sub] == []
    for m in got:  # still acknowledgeable after the unsubscribe
        await m.ack()
    assert (await admin.consumer(name, "c")).ack_floor.stream_seq == 3
    await admin.delete_stream(name)


@pytest.mark.parametrize(
    "op, reason",
    [
        pytest.param(lambda s, n: s.subscribe("no-such-stream", "c"), "stream_not_found", id="stream_not_found"),
        pytest.param(lambda s, n: s.subscribe(n, "nope"), "consumer_not_found", id="consumer_not_found"),
        pytest.param(lambda s, n: s.publish("nobody.listens", b"x"), "no_stream_for_subject", id="no_stream"),
        pytest.param(lambda s, n: s.publish("bad..subject", b"x"), "invalid_subject", id="invalid_subject"),
        pytest.param(
            lambda s, n: s.ack(AckRequest(n, "c", stream_seq=99, consumer_seq=99)), "ack_not_pending", id="not_pending"
        ),
    ],
)
async def test_error_frames(
    session: Session,
    admin: Admin,
    unique: Callable[[str], str],
    op: Callable[[Session, str], object],
    reason: str,
) -> None:
    name = await _stream(admin, unique)
    with pytest.raises(APIError) as e:
        await op(session, name)  # type: ignore[misc]
    assert e.value.reason == reason
    assert e.value.status in (None, 400, 404, 409)  # servers before integer codes sent none
    assert e.value.message
    await session.ping()  # the session goes on
    await admin.delete_stream(name)


async def test_fire_and_forget_failure_is_an_event(
    session: Session, events: EventLog, admin: Admin, unique: Callable[[str], str]
) -> None:
    """A fire-and-forget acknowledgement the server refuses (here: no
    sequence numbers) is reported as an error tied to no command."""
    name = await _stream(admin, unique)
    await session.ack(AckRequest(name, "c", stream_seq=0, consumer_seq=0), no_wait=True)
    e = await events.wait(EventKind.SERVER_ERROR)
    assert isinstance(e.error, APIError) and e.error.reason == "bad_request"
    await session.ping()
    await admin.delete_stream(name)


async def test_push_consumer_shared(session: Session, admin: Admin, unique: Callable[[str], str]) -> None:
    """httpmq reads its push consumers with exact credit: several
    subscribers share one, each message going to one of them, once."""
    name = await _stream(admin, unique, mode="push")
    async with session.subscribe(name, "c") as a, session.subscribe(name, "c") as b:
        sent = {f"m{i}" for i in range(4)}
        for payload in sent:
            await session.publish(f"{name}.a", payload)
        got: list[str] = []
        pending = {asyncio.ensure_future(a.next()): a, asyncio.ensure_future(b.next()): b}
        try:
            while len(got) < len(sent):
                done, _ = await asyncio.wait(pending, timeout=10, return_when=asyncio.FIRST_COMPLETED)
                assert done, f"{len(got)} of {len(sent)} messages"
                for f in done:
                    sub = pending.pop(f)
                    m = f.result()
                    got.append(m.data.decode())
                    await m.ack()
                    pending[asyncio.ensure_future(sub.next())] = sub
        finally:
            for f in pending:
                f.cancel()
        assert sorted(got) == sorted(sent)
    await admin.delete_stream(name)


async def test_closed_by_server(
    server: HttpmqServer, admin: Admin, unique: Callable[[str], str], events: EventLog
) -> None:
    """A consumer deleted under a subscription: a closed frame ends it, the
    loop raises why, the session goes on."""
    name = await _stream(admin, unique)
    async with Session.connect(server.session_url, on_event=events) as session:
        sub = await session.subscribe(name, "c")
        await admin.delete_consumer(name, "c")
        with pytest.raises(APIError) as e:
            async for _ in sub:
                pass
        assert e.value.reason == "consumer_not_found"
        lost = await events.wait(EventKind.SUBSCRIPTION_LOST)
        assert lost.sub is sub
        await session.ping()
    await admin.delete_stream(name)


async def test_message_too_big_ends_session(server: HttpmqServer, codec: str, events: EventLog) -> None:
    """1009 calls for no reconnection: the session ends with a CloseError."""
    async with Session.connect(server.session_url, codec=codec, on_event=events) as session:
        with pytest.raises(CloseError) as e:
            await session.publish("big.subject", b"x" * (session.hello.max_frame + 1))
        assert e.value.code == 1009
        assert session.closed and session.error is e.value
        await events.wait(EventKind.CLOSED)
        assert not events.of(EventKind.RECONNECTED)
    with pytest.raises(CloseError):  # what ended it, even after close
        await session.ping()


async def test_connect_refused() -> None:
    from support import free_port

    with pytest.raises(TransportError):
        await Session.connect(f"ws://127.0.0.1:{free_port()}", open_timeout=2)


async def test_close_fails_waiting_commands(server: HttpmqServer, admin: Admin, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    session = await Session.connect(server.data_url)  # an http:// URL works too
    sub = await session.subscribe(name, "c")
    reader = asyncio.get_running_loop().create_task(sub.next())
    await asyncio.sleep(0)  # let it wait
    await session.close()
    with pytest.raises(SessionClosedError):
        await reader
    with pytest.raises(SessionClosedError):
        await session.publish(f"{name}.a", b"x")
    await session.close()  # idempotent
    await admin.delete_stream(name)
