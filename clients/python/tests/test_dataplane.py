"""The REST dataplane client against a real httpmq: publish, NDJSON
subscriptions, acknowledgements and redelivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from support import eventually

from httpmq_client import Admin, APIError, BatchMessage, Dataplane, Message, PubAck

# Short enough to see redeliveries quickly, long enough that the test acts
# on a delivery before it expires even on a loaded machine.
ACK_WAIT = 2.0


async def _stream(admin: Admin, unique: Callable[[str], str], **consumer: object) -> str:
    """A stream capturing ``<name>.>`` with a consumer ``c`` (push, unless
    told otherwise)."""
    name = unique("dp")
    await admin.create_stream(name, subjects=[f"{name}.>"])
    await admin.create_consumer(name, "c", **{"mode": "push", **consumer})  # type: ignore[arg-type]
    return name


async def test_publish(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = unique("pub")
    await admin.create_stream(name, subjects=[f"{name}.>"])
    raw = await dataplane.publish(f"{name}.a", bytes(range(256)), headers={"x-trace": "abc", "Multi": ["1", "2"]})
    b64 = await dataplane.publish(f"{name}.a", b"\x00\xffhello", base64_body=True)
    assert (raw.stream, raw.sequence, raw.duplicate) == (name, 1, False)
    assert b64.sequence == 2

    first = await dataplane.publish(f"{name}.a", "once", msg_id="order-1")
    again = await dataplane.publish(f"{name}.a", "once", msg_id="order-1")
    assert (again.sequence, again.duplicate) == (first.sequence, True)

    stored = await admin.message(name, 1)
    assert stored.data == bytes(range(256))
    assert stored.headers["X-Trace"] == ["abc"]  # HTTP canonicalises header names
    assert stored.headers["Multi"] == ["1", "2"]
    assert (await admin.message(name, 2)).data == b"\x00\xffhello"
    await admin.delete_stream(name)


@pytest.mark.parametrize(
    "subject, status, reason",
    [("nobody.listens", 404, "no_stream_for_subject"), ("wild.*", 400, "invalid_subject")],
)
async def test_publish_errors(dataplane: Dataplane, subject: str, status: int, reason: str) -> None:
    with pytest.raises(APIError) as e:
        await dataplane.publish(subject, b"x")
    assert (e.value.status, e.value.reason) == (status, reason)


async def test_subscribe_and_ack(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    before = time.time_ns()
    await dataplane.publish(f"{name}.x", b"hello", headers={"Trace-Id": "t1"})
    async with dataplane.subscribe(name, "c", max_inflight=4) as sub:
        m = await asyncio.wait_for(sub.next(), 10)
        assert (m.subject, m.stream, m.consumer, m.data) == (f"{name}.x", name, "c", b"hello")
        assert (m.stream_seq, m.consumer_seq, m.deliveries) == (1, 1, 1)
        assert m.header("Trace-Id") == "t1"
        assert before - 10**9 <= m.time_ns <= time.time_ns() + 10**9
        r = await m.ack()
        assert r.confirmed and not r.duplicate
        await _acked(admin, name, 1)
        await _ack_again(m)
    assert sub.done()
    await admin.delete_stream(name)


async def _acked(admin: Admin, stream: str, seq: int, consumer: str = "c") -> None:
    async def floor() -> bool:
        return (await admin.consumer(stream, consumer)).ack_floor.stream_seq >= seq

    await eventually(floor, f"ack floor {seq}")


async def _ack_again(m: Message) -> None:
    """Acknowledging an acknowledged delivery again is a success that says
    so; servers before that change answered ack_not_pending."""
    try:
        r = await m.ack()
    except APIError as e:
        assert (e.status, e.reason) == (409, "ack_not_pending")
    else:
        assert r.confirmed and r.duplicate


async def test_redelivery_nak_term_progress(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique, ack_wait=ACK_WAIT)
    await dataplane.publish(f"{name}.x", b"m1")
    async with dataplane.subscribe(name, "c", max_inflight=1) as sub:
        # Not acknowledged: it comes again after the ack wait.
        first = await asyncio.wait_for(sub.next(), 10)
        again = await asyncio.wait_for(sub.next(), 10)
        assert (again.stream_seq, again.deliveries) == (first.stream_seq, 2)
        assert again.consumer_seq > first.consumer_seq

        await again.progress()
        await again.nak()  # at once
        third = await asyncio.wait_for(sub.next(), 10)
        assert (third.stream_seq, third.deliveries) == (first.stream_seq, 3)
        await third.term("cannot parse")

        await dataplane.publish(f"{name}.x", b"m2")
        m2 = await asyncio.wait_for(sub.next(), 10)
        assert m2.data == b"m2"
        await m2.ack()
    await _acked(admin, name, 2)
    info = await admin.consumer(name, "c")
    assert info.num_ack_pending == 0 and info.num_pending == 0
    await admin.delete_stream(name)


async def test_callback(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    got: list[bytes] = []
    done = asyncio.Event()

    async def handle(m: Message) -> None:
        got.append(m.data)
        await m.ack()
        if len(got) == 3:
            done.set()

    async with dataplane.subscribe(name, "c", max_inflight=2, callback=handle):
        for i in range(3):
            await dataplane.publish(f"{name}.x", f"m{i}")
        await asyncio.wait_for(done.wait(), 10)
    assert got == [b"m0", b"m1", b"m2"]
    await admin.delete_stream(name)


async def test_subscribe_errors(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    with pytest.raises(APIError) as e:
        await dataplane.subscribe(name, "nope")
    assert (e.value.status, e.value.reason) == (404, "consumer_not_found")

    async with dataplane.subscribe(name, "c"):
        # httpmq's push consumers take any number of subscribers
        async with dataplane.subscribe(name, "c"):
            pass
    with pytest.raises(APIError) as e:
        await dataplane.subscribe(name, "c", group="g")
    assert (e.value.status, e.value.reason) == (409, "deliver_group_mismatch")
    await admin.delete_stream(name)


async def test_stream_ended_by_server(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    """The consumer is deleted under a subscriber: the stream's last line
    says why, and the loop raises it."""
    name = await _stream(admin, unique, mode="pull")
    await dataplane.publish(f"{name}.x", b"m")
    sub = await dataplane.subscribe(name, "c")
    try:
        m = await asyncio.wait_for(sub.next(), 10)
        await m.ack()
        await admin.delete_consumer(name, "c")
        with pytest.raises(APIError) as e:
            await asyncio.wait_for(_drain(sub), 10)
        assert e.value.reason == "consumer_not_found"
        assert sub.error is e.value
    finally:
        await sub.close()
    await admin.delete_stream(name)


async def _drain(sub: object) -> None:
    async for _ in sub:  # type: ignore[attr-defined]
        pass


async def test_close_ends_subscriptions(admin: Admin, server: object, unique: Callable[[str], str]) -> None:
    name = await _stream(admin, unique)
    dp = Dataplane(server.data_url)  # type: ignore[attr-defined]
    sub = await dp.subscribe(name, "c")
    await dp.close()
    assert sub.done()
    assert [m async for m in sub] == []
    await admin.delete_stream(name)


async def test_publish_batch(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = unique("batch")
    await admin.create_stream(name, subjects=[f"{name}.>"])
    results = await dataplane.publish_batch(
        [
            BatchMessage(f"{name}.a", bytes(range(256)), headers={"x-trace": "abc"}, msg_id="m1"),
            BatchMessage(f"{name}.a", "text"),
            BatchMessage("nobody.listens", b"x"),
            BatchMessage(f"{name}.a", b"again", msg_id="m1"),
            BatchMessage(f"{name}.a", headers={"Nats-Rollup": "all"}),
            BatchMessage(f"{name}.b"),
        ]
    )
    assert [r.ack for r in results] == [
        PubAck(name, 1),
        PubAck(name, 2),
        None,
        PubAck(name, 1, duplicate=True),
        None,
        PubAck(name, 3),
    ]
    assert [(r.error.status, r.error.reason) if r.error else None for r in results] == [
        None,
        None,
        (404, "no_stream_for_subject"),
        None,
        (400, "reserved_header"),
        None,
    ]
    stored = await admin.message(name, 1)
    assert stored.data == bytes(range(256))
    assert stored.headers["x-trace"] == ["abc"]  # a batch's header names keep their case
    assert (await admin.message(name, 2)).data == b"text"
    assert (await admin.message(name, 3)).data == b""

    with pytest.raises(APIError) as e:  # refused whole: nothing published
        await dataplane.publish_batch([])
    assert (e.value.status, e.value.reason) == (400, "bad_request")
    await admin.delete_stream(name)
