"""A stream of one consumer's messages, common to sessions and the REST
dataplane."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from ._util import maybe_await
from .errors import HttpmqError, SessionClosedError, UnsubscribedError
from .message import Message

__all__ = ["MessageCallback", "Subscription"]

log = logging.getLogger("httpmq_client")

#: A subscription callback: a function or coroutine function of a message.
MessageCallback = Callable[[Message], Any]


class Subscription:
    """A consumer's messages, from :meth:`Session.subscribe` or
    :meth:`Dataplane.subscribe`.

    Read it with ``async for msg in sub`` (or ``await sub.next()``) from one
    task at a time, or give ``subscribe`` a ``callback``; acknowledge the
    messages from any task. The loop ends when the subscription is
    unsubscribed or its session closed; when the server ends it (consumer
    deleted, say) the loop raises the :class:`APIError`. :attr:`error` tells
    why it ended.

    Messages received and not yet read are held here; the server sends no
    more than the subscription's ``max_inflight`` unacknowledged ones, so
    memory stays bounded.
    """

    def __init__(self, stream: str, consumer: str, *, filter: str = "", group: str = "", max_inflight: int = 0) -> None:
        if max_inflight < 0:
            raise ValueError("max_inflight must not be negative")
        self.stream = stream
        self.consumer = consumer
        self.filter = filter
        self.group = group
        self.max_inflight = max_inflight
        self._queue: deque[Message] = deque()
        self._wake = asyncio.Event()
        self._error: HttpmqError | None = None
        self._callback_task: asyncio.Task[None] | None = None

    @property
    def error(self) -> HttpmqError | None:
        """None while the subscription is open, then why it ended."""
        return self._error

    def done(self) -> bool:
        """Whether the subscription has ended (messages may remain to read)."""
        return self._error is not None

    def _push(self, m: Message) -> bool:
        """Queues a received message; False once the subscription ended."""
        if self._error is not None:
            return False
        self._queue.append(m)
        self._wake.set()
        return True

    def _end(self, err: HttpmqError, drop: bool) -> bool:
        """Ends the subscription with err, once. With drop, messages not yet
        read are discarded (their session is gone: they cannot be acked)."""
        if self._error is not None:
            return False
        self._error = err
        if drop:
            self._queue.clear()
        self._wake.set()
        return True

    async def next(self) -> Message:
        """The next message, waiting for one. Once the subscription has ended
        and its messages are read, raises why: :class:`UnsubscribedError`,
        :class:`SessionClosedError`, an :class:`APIError` (the server ended
        it) or another :class:`HttpmqError`. Cancelling the wait loses
        nothing."""
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._error is not None:
                raise self._error
            self._wake.clear()
            await self._wake.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.next()
        except (UnsubscribedError, SessionClosedError):
            raise StopAsyncIteration from None

    async def unsubscribe(self) -> None:
        """Ends the subscription. Messages delivered but not acknowledged are
        redelivered by JetStream after their ack wait; those already received
        can still be read and acknowledged. Idempotent."""
        if self._end(UnsubscribedError("httpmq: unsubscribed"), drop=False):
            try:
                await self._stop()
            finally:
                await self._finish()
        else:
            await self._finish()

    async def close(self) -> None:
        """Same as :meth:`unsubscribe`."""
        await self.unsubscribe()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unsubscribe()

    async def _stop(self) -> None:
        """Ends the subscription on the server's side."""
        raise NotImplementedError

    def _start_callback(self, callback: MessageCallback) -> None:
        self._callback_task = asyncio.get_running_loop().create_task(self._run_callback(callback))

    async def _run_callback(self, callback: MessageCallback) -> None:
        while True:
            try:
                m = await self.next()
            except HttpmqError:
                return  # ended: self.error says why
            try:
                await maybe_await(callback(m))
            except Exception:
                log.exception(
                    "httpmq: subscription callback failed on %s/%s stream_seq %d; the message is redelivered "
                    "after its ack wait unless acknowledged",
                    self.stream,
                    self.consumer,
                    m.stream_seq,
                )

    async def _finish(self) -> None:
        """Stops the callback task (unless it is the caller) and waits for it."""
        t = self._callback_task
        if t is None or t is asyncio.current_task() or t.done():
            return
        t.cancel()
        await asyncio.wait([t])  # a cancellation of the caller still propagates
