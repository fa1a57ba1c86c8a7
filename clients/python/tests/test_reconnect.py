"""Sessions across a server restart on the same data directory and ports:
the session reconnects by itself, resubscribes, and what was not
acknowledged comes again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from support import EventLog, HttpmqServer

from httpmq_client import Admin, APIError, Dataplane, EventKind, HttpmqError, Session


@pytest.fixture
def restartable(httpmq_binary: Path, tmp_path: Path) -> Iterator[HttpmqServer]:
    s = HttpmqServer(httpmq_binary, tmp_path / "data")
    s.start()
    yield s
    s.stop()


@pytest_asyncio.fixture
async def admin(restartable: HttpmqServer) -> AsyncIterator[Admin]:
    async with Admin(restartable.admin_url) as a:
        yield a


@pytest.mark.parametrize("codec, mode", [("json", "push"), ("msgpack", "pull")])
async def test_reconnect_across_restart(restartable: HttpmqServer, admin: Admin, codec: str, mode: str) -> None:
    await admin.create_stream("events", subjects=["events.>"])
    await admin.create_consumer("events", "proc", mode=mode, ack_wait=1)
    log = EventLog()
    async with Session.connect(
        restartable.session_url, codec=codec, on_event=log, reconnect_wait=0.05, max_reconnect_wait=0.5
    ) as session:
        for i in range(3):
            await session.publish("events.e", f"m{i}")
        sub = await session.subscribe("events", "proc", max_inflight=10)
        got = [await asyncio.wait_for(sub.next(), 10) for _ in range(3)]
        assert [m.data for m in got] == [b"m0", b"m1", b"m2"]
        await got[0].ack()  # m1 and m2 stay unacknowledged

        await restartable.astop()
        down = await log.wait(EventKind.DISCONNECTED)
        assert down.url == restartable.session_url
        # Commands wait for the connection meanwhile.
        publish = asyncio.get_running_loop().create_task(session.publish("events.e", b"m3"))
        await restartable.astart()

        await log.wait(EventKind.RECONNECTED)
        await log.wait(EventKind.RESUBSCRIBED)
        assert (await asyncio.wait_for(publish, 20)).sequence == 4

        # The unacknowledged ones come again, then the new one.
        seen: dict[bytes, int] = {}
        while set(seen) != {b"m1", b"m2", b"m3"}:
            m = await asyncio.wait_for(sub.next(), 20)
            if m.data in (b"m1", b"m2"):
                assert m.deliveries >= 2
            seen[m.data] = m.stream_seq
            try:
                await m.ack()
            except APIError as e:  # a slow ack after the ack wait: it comes again
                assert e.reason == "ack_not_pending"
                del seen[m.data]
        assert seen == {b"m1": 2, b"m2": 3, b"m3": 4}
        assert not session.closed
        assert not log.of(EventKind.SUBSCRIPTION_LOST)


async def test_gives_up_after_max_reconnects(restartable: HttpmqServer) -> None:
    log = EventLog()
    session = await Session.connect(
        restartable.session_url, on_event=log, max_reconnects=2, reconnect_wait=0.01, max_reconnect_wait=0.02
    )
    await restartable.astop()
    await asyncio.wait_for(session.wait_closed(), 20)
    assert isinstance(session.error, HttpmqError)
    assert "gave up after 2 reconnect attempts" in str(session.error)
    assert log.of(EventKind.CLOSED)
    await session.close()


async def test_no_reconnect(restartable: HttpmqServer) -> None:
    session = await Session.connect(restartable.session_url, reconnect=False)
    await restartable.astop()
    await asyncio.wait_for(session.wait_closed(), 20)
    assert session.error is not None
    await session.close()


async def test_rest_subscription_ends_at_shutdown(restartable: HttpmqServer, admin: Admin) -> None:
    """A REST subscription does not reconnect: its last line says the server
    is shutting down (retryable), and the loop raises it."""
    await admin.create_stream("jobs", subjects=["jobs"])
    await admin.create_consumer("jobs", "w", mode="pull")
    async with Dataplane(restartable.data_url) as dp:
        sub = await dp.subscribe("jobs", "w")
        await restartable.astop()
        with pytest.raises(APIError) as e:
            await asyncio.wait_for(sub.next(), 20)
        assert (e.value.reason, e.value.retryable) == ("shutting_down", True)
