"""The management REST API client: streams, consumers, stored messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ._rest import RestClient, esc
from ._util import duration_ns
from .models import ConsumerInfo, StoredMessage, StreamInfo

__all__ = ["Admin"]

# Request fields given in seconds (or timedelta) and sent as nanoseconds.
_DURATIONS = frozenset({"max_age", "duplicate_window", "ack_wait", "inactive_threshold"})


def _body(**fields: Any) -> dict[str, Any]:
    """A request body from keyword arguments: None is left out, durations
    become nanoseconds, datetimes RFC 3339."""
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if v is None:
            continue
        if k in _DURATIONS:
            v = duration_ns(v)
        elif k == "backoff":
            v = [duration_ns(d) for d in v]
        elif isinstance(v, datetime):
            v = v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


def _stream_path(name: str) -> str:
    return "/v1/admin/stream/" + esc(name)


def _consumer_path(stream: str, name: str = "") -> str:
    p = _stream_path(stream) + "/consumer"
    return p + "/" + esc(name) if name else p


class Admin(RestClient):
    """Client of the management API (``/v1/admin/…``, by default on
    ``http://127.0.0.1:3000``)::

        async with Admin("http://127.0.0.1:3000", token=tok) as admin:
            await admin.create_stream("orders", subjects=["orders.>"])

    Every method raises :class:`APIError` when the server refuses (``reason``
    ``stream_not_found``, ``stream_exists``, ``invalid_config``...) and
    :class:`TransportError` when it cannot be reached. Durations are seconds
    (or timedeltas). Safe for concurrent use by many tasks.

    Args:
        base_url: the management listener, ``http://host:port``.
        token: a bearer token (JWT or API key) sent with every request.
        token_provider: instead of ``token``, an async callable returning
            one; called again before the token expires and after a 401.
        headers: added to every request.
        http2: HTTP/2 where the server offers it (over TLS; cleartext
            ``http://`` is HTTP/1.1). Default: when the ``h2`` package is
            installed.
        timeout: seconds for each request.
        verify: TLS verification for ``https://``: True (the system's
            roots), a CA bundle path, an ``ssl.SSLContext``, or False.
        client: an ``httpx.AsyncClient`` to use instead of one of its own
            (then left open by :meth:`close`).
    """

    async def __aenter__(self) -> Admin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def alive(self) -> None:
        """Returns while the server serves HTTP."""
        await self._call("GET", "/v1/admin/alive")

    async def ready(self) -> None:
        """Returns when the server's NATS connection works; raises
        :class:`APIError` ``unavailable`` otherwise."""
        await self._call("GET", "/v1/admin/ready")

    async def create_stream(
        self,
        name: str,
        *,
        subjects: Sequence[str] | None = None,
        storage: str | None = None,
        max_consumers: int | None = None,
        max_msgs: int | None = None,
        max_bytes: int | None = None,
        max_age: float | timedelta | None = None,
        max_msgs_per_subject: int | None = None,
        max_msg_size: int | None = None,
        description: str | None = None,
        retention: str | None = None,
        discard: str | None = None,
        replicas: int | None = None,
        duplicate_window: float | timedelta | None = None,
    ) -> StreamInfo:
        """Defines a stream (capturing its own name when ``subjects`` is
        None). Defining an identical one again succeeds; a different one
        raises ``stream_exists``. Limits of 0 or -1 are unlimited."""
        body = _body(
            name=name,
            subjects=subjects,
            storage=storage,
            max_consumers=max_consumers,
            max_msgs=max_msgs,
            max_bytes=max_bytes,
            max_age=max_age,
            max_msgs_per_subject=max_msgs_per_subject,
            max_msg_size=max_msg_size,
            description=description,
            retention=retention,
            discard=discard,
            replicas=replicas,
            duplicate_window=duplicate_window,
        )
        a = await self._call("POST", "/v1/admin/stream", body)
        return StreamInfo.from_json(a.get("stream") or {})

    async def streams(self) -> dict[str, StreamInfo]:
        """Every stream, by name."""
        a = await self._call("GET", "/v1/admin/stream")
        return {k: StreamInfo.from_json(v) for k, v in (a.get("streams") or {}).items()}

    async def stream(self, name: str) -> StreamInfo:
        """One stream."""
        a = await self._call("GET", _stream_path(name))
        return StreamInfo.from_json(a.get("stream") or {})

    async def update_stream(
        self,
        name: str,
        *,
        subjects: Sequence[str] | None = None,
        max_consumers: int | None = None,
        max_msgs: int | None = None,
        max_bytes: int | None = None,
        max_age: float | timedelta | None = None,
        max_msgs_per_subject: int | None = None,
        max_msg_size: int | None = None,
        description: str | None = None,
        retention: str | None = None,
        discard: str | None = None,
        replicas: int | None = None,
        duplicate_window: float | timedelta | None = None,
    ) -> StreamInfo:
        """Changes a stream's subjects, limits or settings; what is not given
        stays."""
        body = _body(
            subjects=subjects,
            max_consumers=max_consumers,
            max_msgs=max_msgs,
            max_bytes=max_bytes,
            max_age=max_age,
            max_msgs_per_subject=max_msgs_per_subject,
            max_msg_size=max_msg_size,
            description=description,
            retention=retention,
            discard=discard,
            replicas=replicas,
            duplicate_window=duplicate_window,
        )
        a = await self._call("PUT", _stream_path(name), body)
        return StreamInfo.from_json(a.get("stream") or {})

    async def set_stream_subjects(self, name: str, subjects: Sequence[str]) -> StreamInfo:
        """Replaces a stream's subjects."""
        a = await self._call("PUT", _stream_path(name) + "/subject", {"subjects": list(subjects)})
        return StreamInfo.from_json(a.get("stream") or {})

    async def set_stream_limits(
        self,
        name: str,
        *,
        max_consumers: int | None = None,
        max_msgs: int | None = None,
        max_bytes: int | None = None,
        max_age: float | timedelta | None = None,
        max_msgs_per_subject: int | None = None,
        max_msg_size: int | None = None,
    ) -> StreamInfo:
        """Changes the limits given."""
        body = _body(
            max_consumers=max_consumers,
            max_msgs=max_msgs,
            max_bytes=max_bytes,
            max_age=max_age,
            max_msgs_per_subject=max_msgs_per_subject,
            max_msg_size=max_msg_size,
        )
        a = await self._call("PUT", _stream_path(name) + "/limit", body)
        return StreamInfo.from_json(a.get("stream") or {})

    async def delete_stream(self, name: str) -> None:
        """Deletes a stream with its messages and consumers."""
        await self._call("DELETE", _stream_path(name))

    async def purge_stream(
        self, name: str, *, subject: str | None = None, sequence: int | None = None, keep: int | None = None
    ) -> int:
        """Removes messages (all by default; only on ``subject``; below
        ``sequence``; all but the ``keep`` newest) and returns how many."""
        a = await self._call("POST", _stream_path(name) + "/purge", _body(subject=subject, sequence=sequence, keep=keep))
        purged = a.get("purged")
        return purged if isinstance(purged, int) else 0

    async def message(self, stream: str, sequence: int) -> StoredMessage:
        """The message stored at ``sequence`` (``message_not_found`` if none)."""
        a = await self._call("GET", f"{_stream_path(stream)}/message/{int(sequence)}")
        return StoredMessage.from_json(a.get("message") or {})

    async def create_consumer(
        self,
        stream: str,
        name: str,
        *,
        mode: str,
        filter_subject: str | None = None,
        filter_subjects: Sequence[str] | None = None,
        delivery_group: str | None = None,
        max_inflight: int | None = None,
        max_retry: int | None = None,
        ack_wait: float | timedelta | None = None,
        deliver_policy: str | None = None,
        opt_start_seq: int | None = None,
        opt_start_time: datetime | None = None,
        backoff: Sequence[float | timedelta] | None = None,
        max_waiting: int | None = None,
        inactive_threshold: float | timedelta | None = None,
        replicas: int | None = None,
        memory_storage: bool | None = None,
        headers_only: bool | None = None,
        notes: str | None = None,
    ) -> ConsumerInfo:
        """Defines a durable consumer. ``mode`` is ``"push"`` (the server
        pushes; one subscriber, or any number sharing a ``delivery_group``)
        or ``"pull"`` (any number of subscribers share it).
        ``max_inflight`` is JetStream's max ack pending, ``max_retry`` its
        max deliver. Defining an identical one again succeeds; a different
        one raises ``consumer_exists``."""
        body = _body(
            name=name,
            mode=mode,
            filter_subject=filter_subject,
            filter_subjects=filter_subjects,
            delivery_group=delivery_group,
            max_inflight=max_inflight,
            max_retry=max_retry,
            ack_wait=ack_wait,
            deliver_policy=deliver_policy,
            opt_start_seq=opt_start_seq,
            opt_start_time=opt_start_time,
            backoff=backoff,
            max_waiting=max_waiting,
            inactive_threshold=inactive_threshold,
            replicas=replicas,
            memory_storage=memory_storage,
            headers_only=headers_only,
            notes=notes,
        )
        a = await self._call("POST", _consumer_path(stream), body)
        return ConsumerInfo.from_json(a.get("consumer") or {})

    async def consumers(self, stream: str) -> dict[str, ConsumerInfo]:
        """Every consumer of a stream, by name."""
        a = await self._call("GET", _consumer_path(stream))
        return {k: ConsumerInfo.from_json(v) for k, v in (a.get("consumers") or {}).items()}

    async def consumer(self, stream: str, name: str) -> ConsumerInfo:
        """One consumer."""
        a = await self._call("GET", _consumer_path(stream, name))
        return ConsumerInfo.from_json(a.get("consumer") or {})

    async def delete_consumer(self, stream: str, name: str) -> None:
        """Deletes a consumer."""
        await self._call("DELETE", _consumer_path(stream, name))
