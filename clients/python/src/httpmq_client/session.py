"""WebSocket sessions: one connection carrying many subscriptions,
publishes and acknowledgements, that reconnects and resubscribes by itself.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import ssl as _ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed

from ._auth import TokenProvider, TokenSource
from ._connection import (
    AUTH_EXPIRED,
    GOING_AWAY,
    RECONNECT_CLOSE_CODES,
    Connection,
    close_status,
    closed_error,
    dial,
    int_field,
    session_url,
)
from ._util import AwaitableContext, HeadersLike, duration_ns, headers_in, headers_out
from .codec import Codec, Frame, codec_for
from .errors import (
    APIError,
    CloseError,
    ConnectionLostError,
    HttpmqError,
    ProtocolError,
    SessionClosedError,
    TransportError,
    UnsubscribedError,
)
from .events import EventCallback, EventKind, Hello, SessionEvent
from .message import AckKind, AckRequest, AckResult, Message, PubAck
from .subscription import MessageCallback, Subscription

__all__ = ["Session", "SessionSubscription"]

log = logging.getLogger("httpmq_client")

@dataclass
class _Call:
    """One command awaiting its reply."""

    id: str
    conn: Connection
    fut: asyncio.Future[Frame]
    sub: SessionSubscription | None = None


@dataclass
class _Options:
    codec: Codec
    headers: dict[str, str]
    reconnect: bool
    max_reconnects: int
    reconnect_wait: float
    max_reconnect_wait: float
    open_timeout: float
    ping_interval: float | None
    retry_publishes: bool
    on_event: EventCallback | None
    ssl: _ssl.SSLContext | None


class SessionSubscription(Subscription):
    """A subscription of a :class:`Session`; it survives reconnections. See
    :class:`Subscription`."""

    def __init__(self, session: Session, sub_id: str, stream: str, consumer: str, **opts: Any) -> None:
        super().__init__(stream, consumer, **opts)
        self._session = session
        #: The subscription's id on the session (``sub`` in frames).
        self.id = sub_id
        self._active = False  # the server accepted it at least once

    def _frame(self) -> Frame:
        return {
            "type": "subscribe",
            "sub": self.id,
            "stream": self.stream,
            "consumer": self.consumer,
            "filter": self.filter,
            "group": self.group,
            "max_inflight": self.max_inflight,
        }

    async def _stop(self) -> None:
        await self._session._unsubscribe(self)


class Session:
    """One WebSocket to httpmq carrying many subscriptions, publishes and
    acknowledgements at once. Open it with :meth:`Session.connect`::

        async with Session.connect("ws://127.0.0.1:3001", codec="msgpack") as s:
            async with s.subscribe("orders", "worker") as sub:
                async for msg in sub:
                    await msg.ack()

    When the connection drops, or the server goes away, the session
    reconnects by itself with jittered exponential back-off, to the same or
    another of ``servers``, and subscribes again; commands issued meanwhile
    wait for the new connection (bound them with ``asyncio.wait_for``). It
    gives up on close codes that call for no retry (1002, 1009...), raising
    :class:`CloseError` from then on. :meth:`close` ends it and every task it
    started. All methods may be called from any task.
    """

    def __init__(self, urls: list[str], opts: _Options, tokens: TokenSource) -> None:
        """Private: use :meth:`Session.connect`."""
        self._urls = urls
        self._opts = opts
        self._codec = opts.codec
        self._tokens = tokens
        self._ids = itertools.count(1)
        self._conn: Connection | None = None
        self._hello: Hello | None = None
        self._url_idx = 0
        self._up = asyncio.Event()  # set while connected, or once closed
        self._ended = asyncio.Event()
        self._calls: dict[str, _Call] = {}
        self._subs: dict[str, SessionSubscription] = {}
        self._ended_subs: list[SessionSubscription] = []
        self._closed = False
        self._error: HttpmqError | None = None
        self._run_task: asyncio.Task[None] | None = None

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        codec: str = "json",
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        servers: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        reconnect: bool = True,
        max_reconnects: int = 0,
        reconnect_wait: float = 0.1,
        max_reconnect_wait: float = 5.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        retry_publishes: bool = False,
        on_event: EventCallback | None = None,
        refresh_margin: float = 30.0,
        ssl: _ssl.SSLContext | None = None,
    ) -> AwaitableContext[Session]:
        """Opens a session and waits for the server's ``hello``. Await it, or
        use it in ``async with`` (which closes the session at the end).

        Only this first connection is not retried: when it fails, each of
        ``servers`` is tried once, then the error is raised (an
        :class:`APIError` for a refused handshake, :class:`TransportError`
        for an unreachable server).

        Args:
            url: ``ws://``, ``wss://``, ``http://`` or ``https://``; without a
                path, the server's ``/v1/session``.
            codec: ``"json"`` (text frames) or ``"msgpack"`` (binary frames).
            token: a bearer token sent on every handshake.
            token_provider: instead of ``token``, an async callable returning
                a fresh one. It is called for each connection, and before the
                current JWT expires (``refresh_margin`` seconds before, or at
                half its remaining life if sooner) to replace it in place
                with an ``auth`` frame. Without it, a session whose token
                expires (close 4004) ends.
            servers: more URLs to reconnect to, in turn (after a 1001
                going_away, the next one first).
            headers: sent with every handshake.
            reconnect: False makes a dropped connection end the session.
            max_reconnects: consecutive failed attempts that end the
                session; 0 tries until :meth:`close`.
            reconnect_wait, max_reconnect_wait: the first back-off step and
                its cap, in seconds; each wait is drawn between half the
                step and the step, and the step doubles on each failure.
            open_timeout: seconds for each connection attempt, hello
                included.
            ping_interval: seconds between WebSocket pings to detect a dead
                connection (a ping unanswered within the interval drops
                it); None disables.
            retry_publishes: resend the publishes awaiting their answer when
                the connection drops, on the next connection, each with a
                message id (generated if not given) so JetStream stores it
                once. Default: they raise :class:`ConnectionLostError`.
            on_event: told of disconnections, reconnections, lost
                subscriptions and server errors (:class:`SessionEvent`).
            ssl: the TLS context for ``wss://`` URLs.
        """
        opts = _Options(
            codec=codec_for(codec),
            headers=dict(headers or {}),
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            reconnect_wait=max(reconnect_wait, 0.001),
            max_reconnect_wait=max(max_reconnect_wait, reconnect_wait, 0.001),
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            retry_publishes=retry_publishes,
            on_event=on_event,
            ssl=ssl,
        )
        urls = [session_url(u) for u in [url, *servers]]
        tokens = TokenSource(token, token_provider, refresh_margin)
        return AwaitableContext(cls(urls, opts, tokens)._open())

    async def _open(self) -> Session:
        errors: list[HttpmqError] = []
        for i, u in enumerate(self._urls):
            try:
                conn = await self._dial(u)
            except HttpmqError as e:
                errors.append(e)
                continue
            self._url_idx = i
            self._set_conn(conn)
            self._run_task = asyncio.get_running_loop().create_task(self._run(conn))
            return self
        if len(errors) == 1:
            raise errors[0]
        raise TransportError("httpmq: no server answered: " + "; ".join(map(str, errors))) from errors[-1]

    # --- public API -----------------------------------------------------

    @property
    def hello(self) -> Hello:
        """What the server of the current (or last) connection announced."""
        assert self._hello is not None
        return self._hello

    @property
    def closed(self) -> bool:
        """Whether the session has ended (closed, or gave up)."""
        return self._closed

    @property
    def error(self) -> HttpmqError | None:
        """None while the session is open; then why it ended
        (:class:`SessionClosedError` after :meth:`close`, a
        :class:`CloseError`, or the last connection error)."""
        return self._error

    async def wait_closed(self) -> None:
        """Returns once the session has ended."""
        await self._ended.wait()

    async def publish(
        self,
        subject: str,
        data: bytes | str = b"",
        *,
        headers: HeadersLike | None = None,
        msg_id: str | None = None,
    ) -> PubAck:
        """Publishes ``data`` (str is sent as UTF-8) and returns JetStream's
        ack. Waits for a connection while the session reconnects. Raises
        :class:`APIError` (``no_stream_for_subject``, ``payload_too_large``...)
        or, when the connection drops before the answer,
        :class:`ConnectionLostError` (unless ``retry_publishes``)."""
        if self._opts.retry_publishes and not msg_id:
            msg_id = "httpmq-py-" + os.urandom(12).hex()
        frame: Frame = {
            "type": "publish",
            "subject": subject,
            "data": data.encode() if isinstance(data, str) else bytes(data),
            "headers": headers_in(headers),
            "msg_id": msg_id,
        }
        r = await self._command(frame, retry=self._opts.retry_publishes)
        seq = r.get("seq")
        return PubAck(str(r.get("stream") or ""), seq if isinstance(seq, int) else 0, r.get("duplicate") is True)

    def subscribe(
        self,
        stream: str,
        consumer: str,
        *,
        filter: str = "",
        group: str = "",
        max_inflight: int = 0,
        callback: MessageCallback | None = None,
    ) -> AwaitableContext[SessionSubscription]:
        """Starts receiving a durable consumer's messages. Await it, or use it
        in ``async with`` (which unsubscribes at the end). The subscription
        survives reconnections and ends only when unsubscribed, when the
        session ends, or when the server refuses it for good (consumer
        deleted, say).

        Args:
            filter: must equal or cover the consumer's filter subject.
            group: must match a push consumer's delivery group.
            max_inflight: most unacknowledged messages on this subscription;
                0 is the server's default.
            callback: called (and awaited, if async) with each message from
                a task of the subscription, instead of iterating.
        """
        return AwaitableContext(self._subscribe(stream, consumer, filter, group, max_inflight, callback))

    async def _subscribe(
        self, stream: str, consumer: str, filter: str, group: str, max_inflight: int, callback: MessageCallback | None
    ) -> SessionSubscription:
        self._check_open()
        sub = SessionSubscription(
            self, self._next_id(), stream, consumer, filter=filter, group=group, max_inflight=max_inflight
        )
        self._subs[sub.id] = sub
        try:
            await self._command(sub._frame(), sub=sub, retry=True)
        except BaseException as e:
            if self._subs.get(sub.id) is sub:
                del self._subs[sub.id]
            sub._end(e if isinstance(e, HttpmqError) else UnsubscribedError("httpmq: subscribe cancelled"), drop=True)
            raise
        if callback is not None:
            sub._start_callback(callback)
        return sub

    async def ack(self, req: AckRequest, *, no_wait: bool = False) -> AckResult:
        """Acknowledges (or naks, terms, extends) a delivery by its numbers;
        any session may acknowledge any delivery. Confirmed by default:
        raises :class:`APIError` (``ack_not_pending``...) or
        :class:`ConnectionLostError`. With ``no_wait`` it only sends the
        frame (a failure comes later as a ``server_error`` event) and raises
        :class:`ConnectionLostError` while the session reconnects."""
        frame: Frame = {
            "type": req.kind.value,
            "stream": req.stream,
            "consumer": req.consumer,
            "stream_seq": req.stream_seq,
            "consumer_seq": req.consumer_seq,
            "deliveries": req.deliveries,
            "delay": duration_ns(req.delay) if req.kind is AckKind.NAK else 0,
            "reason": req.reason if req.kind is AckKind.TERM else "",
        }
        if no_wait:
            self._check_open()
            conn = self._conn
            if conn is None:
                raise ConnectionLostError("httpmq: not connected (the session is reconnecting)")
            try:
                await conn.send(self._codec.encode(frame))
            except ConnectionClosed as e:
                raise self._lost() from e
            return AckResult(confirmed=False)
        r = await self._command(frame)
        return AckResult(confirmed=True, duplicate=r.get("duplicate") is True)

    async def _acknowledge(self, req: AckRequest, no_wait: bool) -> AckResult:
        return await self.ack(req, no_wait=no_wait)

    async def ping(self) -> None:
        """Sends an application-level ping and waits for the pong."""
        await self._command({"type": "ping"})

    async def close(self) -> None:
        """Ends the session: closes the connection normally, ends every
        subscription, fails the commands in flight with
        :class:`SessionClosedError`, and returns once every task of the
        session has stopped. Idempotent."""
        self._shutdown(SessionClosedError("httpmq: session closed"))
        conn, task = self._conn, self._run_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            if conn is not None:
                await conn.flush()  # what was sent before closing goes first
                await conn.ws.close()  # the reader sees it and the run task returns
            else:
                task.cancel()  # reconnecting: stop waiting or dialing
            await asyncio.wait([task])
        for sub in self._ended_subs:
            await sub._finish()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- commands -------------------------------------------------------

    def _next_id(self) -> str:
        return format(next(self._ids), "x")

    def _check_open(self) -> None:
        if self._closed:
            assert self._error is not None
            raise self._error

    def _lost(self) -> HttpmqError:
        """The error of a command whose connection dropped: the session's
        own when that ended it."""
        if self._closed:
            assert self._error is not None
            return self._error
        return ConnectionLostError("httpmq: connection lost before the reply")

    async def _command(self, frame: Frame, sub: SessionSubscription | None = None, retry: bool = False) -> Frame:
        """Sends a command on the current connection (waiting for one) and
        returns its ok or pong; with retry, a connection lost before the
        reply sends it again on the next one."""
        while True:
            while self._conn is None:
                self._check_open()
                await self._up.wait()
            self._check_open()
            try:
                return await self._send_call(self._conn, frame, sub)
            except ConnectionLostError:
                if not retry:
                    raise

    async def _send_call(self, conn: Connection, frame: Frame, sub: SessionSubscription | None) -> Frame:
        """Sends frame on conn with a fresh id and waits for its reply."""
        call = _Call(self._next_id(), conn, asyncio.get_running_loop().create_future(), sub)
        self._calls[call.id] = call
        try:
            try:
                await conn.send(self._codec.encode({**frame, "id": call.id}))
            except ConnectionClosed as e:
                raise self._lost() from e
            try:
                reply = await call.fut
            except ConnectionLostError:
                raise self._lost() from None
        finally:
            if self._calls.get(call.id) is call:
                del self._calls[call.id]
        if reply.get("type") == "error":
            raise APIError.from_error(reply)
        return reply

    async def _unsubscribe(self, sub: SessionSubscription) -> None:
        if self._subs.get(sub.id) is sub:
            del self._subs[sub.id]
        conn = self._conn
        if conn is None or self._closed:
            return  # on a lost or new connection the subscription is gone anyway
        try:
            await self._send_call(conn, {"type": "unsubscribe", "sub": sub.id}, None)
        except (ConnectionLostError, SessionClosedError, CloseError):
            pass
        except APIError as e:
            if e.reason != "subscription_not_found":
                raise

    # --- connections ----------------------------------------------------

    async def _dial(self, url: str) -> Connection:
        """Opens a connection to url with the current token."""
        try:
            token = await self._tokens.get()
        except Exception as e:
            raise HttpmqError(f"httpmq: the token provider failed: {e}") from e
        o = self._opts
        headers = {**o.headers, "Authorization": "Bearer " + token} if token else o.headers
        return await dial(
            url,
            self._codec,
            headers,
            open_timeout=o.open_timeout,
            ping_interval=o.ping_interval,
            ssl=o.ssl,
            retry_unauthorized=self._tokens.renewable,
        )

    def _set_conn(self, conn: Connection) -> list[SessionSubscription]:
        """Makes conn current and releases the commands waiting for one; it
        returns the active subscriptions to restore."""
        self._conn = conn
        self._hello = conn.hello
        self._up.set()
        return [s for s in self._subs.values() if s._active and not s.done()]

    def _drop_conn(self, conn: Connection) -> None:
        """Forgets conn: commands sent on it learn that their reply will not
        come; new commands wait for the next connection."""
        if self._conn is conn:
            self._conn = None
            if not self._closed:
                self._up.clear()
        for call in [c for c in self._calls.values() if c.conn is conn]:
            del self._calls[call.id]
            if not call.fut.done():
                call.fut.set_exception(ConnectionLostError("httpmq: connection lost before the reply"))

    async def _run(self, conn: Connection) -> None:
        """Owns the connections: serves conn until it drops, then reconnects,
        until close or a reason to give up."""
        restore: list[SessionSubscription] = []
        while True:
            err = await self._serve(conn, restore)
            self._drop_conn(conn)
            if self._closed:
                return
            code, reason = close_status(err)
            why = err if isinstance(err, HttpmqError) else closed_error(code, reason, err)
            self._event(SessionEvent(EventKind.DISCONNECTED, url=conn.url, error=why))
            if not self._opts.reconnect:
                return self._give_up(why)
            if code is not None and (
                code not in RECONNECT_CLOSE_CODES or (code == AUTH_EXPIRED and not self._tokens.renewable)
            ):
                return self._give_up(CloseError(code, reason))
            if code == GOING_AWAY:
                self._url_idx += 1  # elsewhere if possible
            try:
                conn = await self._reconnect()
            except HttpmqError as e:
                return self._give_up(e)
            restore = self._set_conn(conn)

    async def _reconnect(self) -> Connection:
        """Dials the servers in turn, with back-off, until one answers."""
        last: HttpmqError | None = None
        n = 0
        while self._opts.max_reconnects <= 0 or n < self._opts.max_reconnects:
            n += 1
            await asyncio.sleep(self._backoff(n))
            url = self._urls[self._url_idx % len(self._urls)]
            try:
                conn = await self._dial(url)
            except APIError as e:
                if not e.retryable:
                    raise  # refused for good (forbidden, bad request): retrying would not help
                last = e
            except HttpmqError as e:
                last = e
            else:
                self._event(SessionEvent(EventKind.RECONNECTED, url=url, attempt=n))
                return conn
            self._url_idx += 1
        raise HttpmqError(f"httpmq: gave up after {n} reconnect attempts: {last}") from last

    def _backoff(self, n: int) -> float:
        """The wait before attempt n (1-based): between half and all of
        reconnect_wait * 2**(n-1), capped at max_reconnect_wait."""
        d = min(self._opts.reconnect_wait * (1 << min(n - 1, 30)), self._opts.max_reconnect_wait)
        return d / 2 + random.uniform(0, d / 2)

    async def _serve(self, conn: Connection, restore: list[SessionSubscription]) -> BaseException:
        """Reads conn until it fails, restoring subscriptions and refreshing
        the token meanwhile; returns why it stopped."""
        loop = asyncio.get_running_loop()
        helpers = [loop.create_task(self._restore(conn, restore))]
        if self._tokens.renewable:
            helpers.append(loop.create_task(self._refresh_token(conn)))
        try:
            while True:
                try:
                    raw = await conn.ws.recv()
                except ConnectionClosed as e:
                    return e
                if isinstance(raw, bytes) != self._codec.binary:
                    await conn.ws.close(1002, "protocol_error: wrong message kind")
                    return ProtocolError(f"httpmq: {type(raw).__name__} message on subprotocol {self._codec.name}")
                frames, _ = self._codec.decode(raw)  # a frame of a newer server we cannot read is skipped
                for f in frames:
                    self._dispatch(conn, f)
        finally:
            for t in helpers:
                t.cancel()
            await asyncio.wait(helpers)

    def _dispatch(self, conn: Connection, f: Frame) -> None:
        """Routes one frame from the server."""
        typ = f.get("type")
        if typ in ("ok", "error", "pong"):
            call_id = f.get("id")
            if not call_id:
                if typ == "error":
                    self._event(SessionEvent(EventKind.SERVER_ERROR, url=conn.url, error=APIError.from_error(f)))
                return
            call = self._calls.pop(call_id, None)
            if call is None:
                return
            if call.sub is not None and typ == "ok":
                call.sub._active = True  # before any msg of it, which follow the ok
            if not call.fut.done():
                call.fut.set_result(f)
        elif typ == "msg":
            sub = self._subs.get(f.get("sub", ""))
            if sub is not None:  # else unsubscribed: JetStream redelivers it after the ack wait
                sub._push(self._message(f))
        elif typ == "closed":
            sub = self._subs.pop(f.get("sub", ""), None)
            err = APIError.from_error(f)
            if sub is not None and sub._end(err, drop=False):
                self._event(SessionEvent(EventKind.SUBSCRIPTION_LOST, url=conn.url, error=err, sub=sub))

    def _message(self, f: Frame) -> Message:
        data = f.get("data")
        return Message(
            subject=str(f.get("subject") or ""),
            stream=str(f.get("stream") or ""),
            consumer=str(f.get("consumer") or ""),
            stream_seq=int_field(f.get("stream_seq")),
            consumer_seq=int_field(f.get("consumer_seq")),
            deliveries=int_field(f.get("deliveries")) or 1,
            pending=int_field(f.get("pending")),
            time_ns=int_field(f.get("time")),
            headers=headers_out(f.get("headers")),
            data=data if isinstance(data, bytes) else b"",
            _acker=self,
        )

    async def _restore(self, conn: Connection, subs: list[SessionSubscription]) -> None:
        """Subscribes subs again on a new connection. A retryable refusal is
        retried with back-off while conn lasts; another ends the
        subscription."""
        for sub in subs:
            n = 0
            while not sub.done():
                n += 1
                try:
                    await self._send_call(conn, sub._frame(), sub)
                except (ConnectionLostError, SessionClosedError, CloseError):
                    return  # the next connection restores it
                except APIError as e:
                    if e.retryable:
                        await asyncio.sleep(self._backoff(n))
                        continue
                    if self._subs.get(sub.id) is sub:
                        del self._subs[sub.id]
                    if sub._end(e, drop=False):
                        self._event(SessionEvent(EventKind.SUBSCRIPTION_LOST, url=conn.url, error=e, sub=sub))
                    break
                self._event(SessionEvent(EventKind.RESUBSCRIBED, url=conn.url, sub=sub))
                break

    async def _refresh_token(self, conn: Connection) -> None:
        """Replaces the connection's token with a fresh one (an auth frame)
        each time the current one nears its expiry."""
        failures = 0
        while (delay := self._tokens.refresh_in()) is not None:
            await asyncio.sleep(delay if failures == 0 else max(delay, self._backoff(failures)))
            try:
                token = await self._tokens.refresh()
                await self._send_call(conn, {"type": "auth", "token": token}, None)
            except (ConnectionLostError, SessionClosedError, CloseError):
                return
            except Exception as e:  # refused, or the provider failed: the server closes with 4004 at expiry
                failures += 1
                self._event(SessionEvent(EventKind.AUTH_FAILED, url=conn.url, error=e))
                continue
            failures = 0
            self._event(SessionEvent(EventKind.AUTH_REFRESHED, url=conn.url))

    # --- the end --------------------------------------------------------

    def _shutdown(self, err: HttpmqError) -> None:
        """Marks the session ended with err: ends the subscriptions and fails
        the commands in flight."""
        if self._closed:
            return
        self._closed = True
        self._error = err
        self._ended_subs = list(self._subs.values())
        self._subs.clear()
        for sub in self._ended_subs:
            sub._end(err, drop=True)
        for call in self._calls.values():
            if not call.fut.done():
                call.fut.set_exception(err)
        self._calls.clear()
        self._up.set()
        self._ended.set()

    def _give_up(self, err: HttpmqError) -> None:
        self._shutdown(err)
        self._event(SessionEvent(EventKind.CLOSED, error=err))

    def _event(self, e: SessionEvent) -> None:
        if self._opts.on_event is None:
            return
        try:
            self._opts.on_event(e)
        except Exception:
            log.exception("httpmq: on_event callback failed on %s", e.kind.value)
