"""The REST dataplane client: publish, push-subscribe (a long-lived NDJSON
response), acknowledge."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable
from typing import Any

import httpx

from ._rest import RestClient, decode_answer, esc
from ._util import AwaitableContext, HeadersLike, duration_ns, headers_in, headers_out, rfc3339_ns
from .errors import APIError, ConnectionLostError, HttpmqError, ProtocolError, TransportError
from .message import AckKind, AckRequest, AckResult, BatchMessage, BatchResult, Message, PubAck
from .models import b64decode
from .subscription import MessageCallback, Subscription

__all__ = ["Dataplane", "RestSubscription"]


def _consumer_path(stream: str, consumer: str) -> str:
    return f"/v1/data/stream/{esc(stream)}/consumer/{esc(consumer)}"


class Dataplane(RestClient):
    """Client of the REST dataplane (``/v1/data/…``, by default on
    ``http://127.0.0.1:3001``)::

        async with Dataplane("http://127.0.0.1:3001") as dp:
            await dp.publish("orders.new", b"order 1")
            async with dp.subscribe("orders", "worker") as sub:
                async for msg in sub:
                    await msg.ack()

    For many subscriptions and inline acks over one connection, use a
    :class:`Session` instead. Takes the same arguments as :class:`Admin`.
    Safe for concurrent use by many tasks.
    """

    async def __aenter__(self) -> Dataplane:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def alive(self) -> None:
        """Returns while the server serves HTTP."""
        await self._call("GET", "/v1/data/alive")

    async def ready(self) -> None:
        """Returns when the server's NATS connection works."""
        await self._call("GET", "/v1/data/ready")

    async def publish(
        self,
        subject: str,
        data: bytes | str = b"",
        *,
        headers: HeadersLike | None = None,
        msg_id: str | None = None,
        base64_body: bool = False,
    ) -> PubAck:
        """Publishes ``data`` (str is sent as UTF-8) to ``subject`` and
        returns where JetStream stored it. ``msg_id`` de-duplicates within
        the stream's duplicate window. HTTP header names are
        case-insensitive, so header names arrive in canonical form
        (``x-trace`` becomes ``X-Trace``). The body goes raw, or base64 with
        ``base64_body`` (the stored payload is the same)."""
        payload = data.encode() if isinstance(data, str) else bytes(data)
        extra = [("Content-Type", "application/octet-stream")]
        if base64_body:
            payload = base64.b64encode(payload)
            extra.append(("Httpmq-Body-Encoding", "base64"))
        else:
            extra.append(("Httpmq-Body-Encoding", "raw"))
        if msg_id:
            extra.append(("Httpmq-Msg-Id", msg_id))
        for name, values in headers_in(headers).items():
            extra.extend(("Httpmq-Header-" + name, v) for v in values)
        req = self._request("POST", "/v1/data/subject/" + esc(subject), content=payload, headers=extra)
        resp = await self._send(req)
        a = decode_answer(resp.status_code, resp.headers, resp.content)
        seq = a.get("sequence")
        return PubAck(str(a.get("stream") or ""), seq if isinstance(seq, int) else 0, a.get("duplicate") is True)

    async def publish_batch(self, messages: Iterable[BatchMessage]) -> list[BatchResult]:
        """Publishes the messages in one request (``POST /v1/data/publish``)
        and returns one result per message, in order. Each is authorized,
        checked and published as a single publish would be, without waiting
        for the others: one can fail (its ``error``) while the rest are
        stored.

        Raises :class:`APIError` when the server refuses the request as a
        whole, before publishing anything (no messages, more messages or
        bytes than its limits, 1,000 and 4 MiB by default), and
        :class:`TransportError` when the request is lost on the way, when
        any of the messages may have been stored: retry with ``msg_id`` set
        to be safe."""
        body = []
        for m in messages:
            payload = m.data.encode() if isinstance(m.data, str) else bytes(m.data)
            item: dict[str, Any] = {"subject": m.subject}
            if payload:
                item["data"] = base64.b64encode(payload).decode()
            if m.headers:
                item["headers"] = headers_in(m.headers)
            if m.msg_id:
                item["msg_id"] = m.msg_id
            body.append(item)
        a = await self._call("POST", "/v1/data/publish", body)
        results = a.get("results")
        if not isinstance(results, list) or len(results) != len(body):
            raise ProtocolError(f"httpmq: batch publish: the answer has no result per message: {str(a)[:200]}")
        rid = a["request_id"] if isinstance(a.get("request_id"), str) else ""
        out = []
        for r in results:
            r = r if isinstance(r, dict) else {}
            if r.get("success") is True:
                seq = r.get("sequence")
                ack = PubAck(str(r.get("stream") or ""), seq if isinstance(seq, int) else 0, r.get("duplicate") is True)
                out.append(BatchResult(ack=ack))
            else:
                err = r.get("error")
                out.append(BatchResult(error=APIError.from_error(err if isinstance(err, dict) else {}, request_id=rid)))
        return out

    def subscribe(
        self,
        stream: str,
        consumer: str,
        *,
        filter: str = "",
        group: str = "",
        max_inflight: int = 0,
        callback: MessageCallback | None = None,
    ) -> AwaitableContext[RestSubscription]:
        """Push-subscribes to a consumer: the server streams its messages
        until the subscription is closed or the server ends it. Await it, or
        use it in ``async with``. Refusals (``consumer_not_found``,
        ``filter_mismatch``...) raise :class:`APIError` here.

        Args:
            filter: must equal or cover the consumer's filter subject.
            group: must match a push consumer's delivery group.
            max_inflight: this subscriber's cap on unacknowledged messages
                (the server's default is 1).
            callback: called (and awaited, if async) with each message from
                a task of the subscription, instead of iterating.
        """
        return AwaitableContext(self._subscribe(stream, consumer, filter, group, max_inflight, callback))

    async def _subscribe(
        self, stream: str, consumer: str, filter: str, group: str, max_inflight: int, callback: MessageCallback | None
    ) -> RestSubscription:
        sub = RestSubscription(self, stream, consumer, filter=filter, group=group, max_inflight=max_inflight)
        params: dict[str, str] = {}
        if filter:
            params["subject_name"] = filter
        if group:
            params["delivery_group"] = group
        if max_inflight:
            params["max_msg_inflight"] = str(max_inflight)
        req = self._request(
            "GET",
            _consumer_path(stream, consumer),
            params=params,
            accept="application/x-ndjson",
            timeout=httpx.Timeout(self._timeout, read=None),  # the server sends heartbeats
        )
        resp = await self._send(req, stream=True)
        if resp.status_code != 200:
            try:
                raw = await resp.aread()
            finally:
                await resp.aclose()
            decode_answer(resp.status_code, resp.headers, raw)
            raise ProtocolError(f"httpmq: subscribe: unexpected HTTP {resp.status_code}")
        sub._reader = asyncio.get_running_loop().create_task(sub._read(resp))
        self._subs.add(sub)
        if callback is not None:
            sub._start_callback(callback)
        return sub

    async def ack(self, req: AckRequest) -> AckResult:
        """Acknowledges (or naks, terms, extends) a delivery by its numbers,
        on any instance, whichever delivered it."""
        body: dict[str, Any] = {"consumer": req.consumer_seq, "stream": req.stream_seq}
        if req.deliveries:
            body["deliveries"] = req.deliveries
        if req.kind is AckKind.NAK and req.delay is not None:
            body["delay"] = duration_ns(req.delay)
        if req.kind is AckKind.TERM and req.reason:
            body["reason"] = req.reason
        a = await self._call("POST", f"{_consumer_path(req.stream, req.consumer)}/{req.kind.value}", body)
        return AckResult(confirmed=True, duplicate=a.get("duplicate") is True)

    async def _acknowledge(self, req: AckRequest, no_wait: bool) -> AckResult:
        return await self.ack(req)  # REST confirms every acknowledgement


class RestSubscription(Subscription):
    """A REST push subscription: one long-lived response read by a task of
    its own. See :class:`Subscription`."""

    def __init__(self, client: Dataplane, stream: str, consumer: str, **opts: Any) -> None:
        super().__init__(stream, consumer, **opts)
        self._client = client
        self._reader: asyncio.Task[None] | None = None

    async def _read(self, resp: httpx.Response) -> None:
        err: HttpmqError = ConnectionLostError("httpmq: the subscription stream ended without a reason")
        try:
            async for line in resp.aiter_lines():
                line = line.strip()  # heartbeats are blanks
                if not line:
                    continue
                try:
                    d = json.loads(line)
                    if not isinstance(d, dict):
                        raise ValueError("not an object")
                    if d.get("success") is not True:
                        e = d.get("error")
                        rid = d.get("request_id")
                        err = APIError.from_error(e if isinstance(e, dict) else {}, request_id=str(rid or ""))
                        break
                    m = self._message(d)
                except (ValueError, ProtocolError) as e:
                    err = ProtocolError(f"httpmq: subscription stream: {e}")
                    break
                if not self._push(m):
                    return
        except httpx.HTTPError as e:
            err = TransportError(f"httpmq: subscription stream: {type(e).__name__}: {e}")
        finally:
            await resp.aclose()
        self._end(err, drop=False)

    def _message(self, d: dict[str, Any]) -> Message:
        seq = d.get("sequence")
        seq = seq if isinstance(seq, dict) else {}
        return Message(
            subject=str(d.get("subject") or ""),
            stream=str(d.get("stream") or ""),
            consumer=str(d.get("consumer") or ""),
            stream_seq=_int(seq.get("stream")),
            consumer_seq=_int(seq.get("consumer")),
            deliveries=_int(d.get("deliveries")) or 1,
            pending=_int(d.get("pending")),
            time_ns=rfc3339_ns(d.get("timestamp")),
            headers=headers_out(d.get("headers")),
            data=b64decode(d.get("b64_msg")),
            _acker=self._client,
        )

    def _end(self, err: HttpmqError, drop: bool) -> bool:
        self._client._subs.discard(self)
        return super()._end(err, drop)

    async def _stop(self) -> None:
        t = self._reader
        if t is not None and not t.done():
            t.cancel()
            await asyncio.wait([t])


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
