"""Fixtures: the httpmq binary (built once), a shared server without
authentication, clients of it, unique names, and a check that no test
leaves a task running."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from support import HttpmqServer, build_binary

from httpmq_client import Admin, Dataplane


@pytest.fixture(scope="session")
def httpmq_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_binary(tmp_path_factory.mktemp("bin"))


@pytest.fixture(scope="session")
def server(httpmq_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpmqServer]:
    """One httpmq for the whole run, without authentication. Tests use
    names of their own (``unique``) so that they do not meet."""
    s = HttpmqServer(httpmq_binary, tmp_path_factory.mktemp("shared") / "data")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Makes a name no other test uses: ``unique("orders")``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fails a test that leaves a task of its event loop running: every
    client must stop what it started when closed. (asyncio's own tasks that
    finalise an async generator dropped mid-iteration, such as httpx's line
    reader of a subscription stream left early, are not the clients'.)"""
    yield
    current = asyncio.current_task()
    pending = [
        t
        for t in asyncio.all_tasks()
        if t is not current and not t.done() and "async_generator_athrow" not in repr(t.get_coro())
    ]
    assert not pending, f"tasks left running: {pending}"


@pytest_asyncio.fixture
async def admin(server: HttpmqServer) -> AsyncIterator[Admin]:
    async with Admin(server.admin_url) as a:
        yield a


@pytest_asyncio.fixture
async def dataplane(server: HttpmqServer) -> AsyncIterator[Dataplane]:
    async with Dataplane(server.data_url) as d:
        yield d
