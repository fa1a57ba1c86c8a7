"""The management API client against a real httpmq."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from support import HttpmqServer, free_port

from httpmq_client import Admin, APIError, Dataplane, TransportError


async def test_probes(admin: Admin) -> None:
    await admin.alive()
    await admin.ready()


async def test_stream_crud(admin: Admin, unique: Callable[[str], str]) -> None:
    name = unique("crud")
    info = await admin.create_stream(name, subjects=[f"{name}.a", f"{name}.b"], max_age=300, max_msgs=100)
    assert info.name == name
    assert info.config.subjects == [f"{name}.a", f"{name}.b"]
    assert info.config.max_age == 300.0
    assert info.config.max_msgs == 100
    assert info.config.storage == "file"
    assert info.created is not None
    assert info.state.messages == 0

    # Identical again: fine.
    again = await admin.create_stream(name, subjects=[f"{name}.a", f"{name}.b"], max_age=300, max_msgs=100)
    assert again.config == info.config

    assert name in await admin.streams()
    assert (await admin.stream(name)).config == info.config

    updated = await admin.update_stream(name, description="orders", duplicate_window=timedelta(seconds=30))
    assert updated.config.description == "orders"
    assert updated.config.duplicate_window == 30.0
    assert updated.config.max_msgs == 100  # untouched

    subjects = await admin.set_stream_subjects(name, [f"{name}.>"])
    assert subjects.config.subjects == [f"{name}.>"]
    limited = await admin.set_stream_limits(name, max_bytes=1 << 20)
    assert limited.config.max_bytes == 1 << 20

    await admin.delete_stream(name)
    assert name not in await admin.streams()


async def test_messages_and_purge(admin: Admin, dataplane: Dataplane, unique: Callable[[str], str]) -> None:
    name = unique("purge")
    await admin.create_stream(name, subjects=[f"{name}.*"])
    for i in range(3):
        await dataplane.publish(f"{name}.x", f"m{i}", headers={"Trace": "t"})
    m = await admin.message(name, 2)
    assert (m.stream, m.subject, m.sequence, m.data) == (name, f"{name}.x", 2, b"m1")
    assert m.headers["Trace"] == ["t"]
    assert m.time is not None
    assert await admin.purge_stream(name, keep=1) == 2
    assert (await admin.stream(name)).state.messages == 1
    with pytest.raises(APIError) as e:
        await admin.message(name, 1)
    assert (e.value.status, e.value.reason) == (404, "message_not_found")
    await admin.delete_stream(name)


async def test_consumer_crud(admin: Admin, unique: Callable[[str], str]) -> None:
    stream = unique("cons")
    await admin.create_stream(stream, subjects=[f"{stream}.>"])
    push = await admin.create_consumer(
        stream, "push", mode="push", filter_subject=f"{stream}.a", max_inflight=4, ack_wait=2.5, notes="n"
    )
    assert (push.stream_name, push.name) == (stream, "push")
    assert push.config.mode == "push"
    assert push.config.filter_subject == f"{stream}.a"
    assert push.config.max_ack_pending == 4
    assert push.config.ack_wait == 2.5
    assert push.config.notes == "n"
    assert push.delivered.stream_seq == 0

    pull = await admin.create_consumer(
        stream, "pull", mode="pull", backoff=[1, timedelta(seconds=2)], max_retry=3, deliver_policy="new"
    )
    assert pull.config.mode == "pull"
    assert pull.config.backoff == [1.0, 2.0]
    assert pull.config.deliver_policy == "new"

    assert set(await admin.consumers(stream)) == {"push", "pull"}
    assert (await admin.consumer(stream, "pull")).config == pull.config

    await admin.delete_consumer(stream, "pull")
    assert set(await admin.consumers(stream)) == {"push"}
    await admin.delete_stream(stream)


@pytest.mark.parametrize(
    "call, status, reason",
    [
        pytest.param(lambda a, s: a.stream("nope-" + s), 404, "stream_not_found", id="stream_not_found"),
        pytest.param(lambda a, s: a.consumer(s, "nope"), 404, "consumer_not_found", id="consumer_not_found"),
        pytest.param(lambda a, s: a.create_stream(s, subjects=["other"]), 409, "stream_exists", id="stream_exists"),
        pytest.param(lambda a, s: a.create_stream("a.b"), 400, "invalid_name", id="invalid_name"),
        pytest.param(lambda a, s: a.create_stream("x" + s, subjects=["a..b"]), 400, "invalid_subject", id="invalid_subject"),
        pytest.param(
            lambda a, s: a.create_consumer(s, "c", mode="sideways"), 400, "bad_request", id="bad_request"
        ),
        pytest.param(
            lambda a, s: a.create_consumer(s, "c", mode="pull", deliver_policy="by_start_sequence"),
            400,
            "bad_request",
            id="missing_opt_start_seq",
        ),
        pytest.param(
            lambda a, s: a.create_stream("y" + s, subjects=[f"{s}.a"]), 400, "invalid_config", id="invalid_config"
        ),
    ],
)
async def test_errors(
    admin: Admin, unique: Callable[[str], str], call: Callable[[Admin, str], object], status: int, reason: str
) -> None:
    stream = unique("err")
    await admin.create_stream(stream, subjects=[f"{stream}.>"])
    try:
        with pytest.raises(APIError) as e:
            await call(admin, stream)  # type: ignore[misc]
        assert e.value.status == status
        assert e.value.reason == reason
        assert e.value.message
        assert e.value.request_id
        assert not e.value.retryable
    finally:
        await admin.delete_stream(stream)


async def test_unreachable() -> None:
    async with Admin(f"http://127.0.0.1:{free_port()}") as a:
        with pytest.raises(TransportError):
            await a.alive()


async def test_request_headers(server: HttpmqServer) -> None:
    async with Admin(server.admin_url, headers={"Httpmq-Request-ID": "py-test-1"}) as a:
        with pytest.raises(APIError) as e:
            await a.stream("missing-stream")
    assert e.value.request_id == "py-test-1"
