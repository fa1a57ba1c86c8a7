"""Messages, publish results and acknowledgements, common to the REST
dataplane and sessions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from ._util import Headers, HeadersLike, ns_datetime
from .errors import APIError

__all__ = ["AckKind", "AckRequest", "AckResult", "BatchMessage", "BatchResult", "Message", "PubAck"]


@dataclass(frozen=True)
class PubAck:
    """JetStream's answer to a publish."""

    #: The stream that stored the message, at ``sequence``.
    stream: str
    sequence: int
    #: True when a message with the same ``msg_id`` was already stored;
    #: ``sequence`` is then the original's.
    duplicate: bool = False


@dataclass(frozen=True)
class BatchMessage:
    """One message of :meth:`Dataplane.publish_batch`: ``data`` (str is sent
    as UTF-8), ``headers`` (names keep their case) and ``msg_id`` as in a
    single publish."""

    subject: str
    data: bytes | str = b""
    headers: HeadersLike | None = None
    msg_id: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one message of a batch: ``ack`` where JetStream
    stored it, or ``error``, the :class:`APIError` a single publish of it
    would have raised."""

    ack: PubAck | None = None
    error: APIError | None = None


class AckKind(str, enum.Enum):
    """The kinds of acknowledgement."""

    ACK = "ack"  #: done: do not redeliver
    NAK = "nak"  #: failed: redeliver (after a delay)
    TERM = "term"  #: failed for good: never redeliver
    PROGRESS = "progress"  #: still working: restart the ack wait


@dataclass(frozen=True)
class AckRequest:
    """Names a delivery by stream, consumer and sequences, so that any client
    of any httpmq instance can acknowledge it (:meth:`Session.ack`,
    :meth:`Dataplane.ack`). :class:`Message` builds it for you."""

    stream: str
    consumer: str
    stream_seq: int
    consumer_seq: int
    deliveries: int = 0
    kind: AckKind = AckKind.ACK
    #: ``nak`` only: wait before redelivery, in seconds (or a timedelta).
    delay: float | timedelta | None = None
    #: ``term`` only: why, recorded by JetStream.
    reason: str = ""


@dataclass(frozen=True)
class AckResult:
    """The outcome of an acknowledgement."""

    #: True when the server confirmed that JetStream recorded it; False for
    #: a fire-and-forget acknowledgement (``no_wait=True``) on a session.
    confirmed: bool
    #: True when the delivery had already been acknowledged: the ack
    #: succeeded and changed nothing.
    duplicate: bool = False


class _Acker(Protocol):
    async def _acknowledge(self, req: AckRequest, no_wait: bool) -> AckResult: ...


@dataclass
class Message:
    """One delivery of a consumer, from a session or REST subscription.

    Acknowledge it once with :meth:`ack`, :meth:`nak` or :meth:`term`
    (:meth:`progress` may come before, repeatedly). Each waits until the
    server confirms and raises :class:`APIError` with reason
    ``ack_not_pending`` when the delivery no longer awaits acknowledgement
    (its ack wait expired: it comes again with a higher ``consumer_seq``).
    With ``no_wait=True`` a session only sends the acknowledgement; a
    failure is then reported as a ``server_error`` event. The REST
    dataplane confirms every acknowledgement, ``no_wait`` or not.
    """

    #: The subject the message was published to.
    subject: str
    stream: str
    consumer: str
    #: The message's sequence in its stream.
    stream_seq: int
    #: The consumer's delivery sequence (higher on each redelivery).
    consumer_seq: int
    #: Deliveries of this message, this one included (1 the first time).
    deliveries: int = 1
    #: Messages the consumer still held after this one.
    pending: int = 0
    #: When the stream stored it, Unix nanoseconds.
    time_ns: int = 0
    headers: Headers = field(default_factory=dict)
    data: bytes = b""
    _acker: _Acker | None = field(default=None, repr=False, compare=False)

    @property
    def time(self) -> datetime:
        """When the stream stored the message (UTC, microseconds)."""
        return ns_datetime(self.time_ns)

    def header(self, name: str) -> str:
        """The first value of header ``name``, or ``""``."""
        vs = self.headers.get(name)
        return vs[0] if vs else ""

    def request(self, kind: AckKind = AckKind.ACK) -> AckRequest:
        """The acknowledgement of this delivery, to send from elsewhere."""
        return AckRequest(self.stream, self.consumer, self.stream_seq, self.consumer_seq, self.deliveries, kind)

    async def ack(self, *, no_wait: bool = False) -> AckResult:
        """Done: JetStream will not deliver it again."""
        return await self._send(self.request(AckKind.ACK), no_wait)

    async def nak(self, delay: float | timedelta | None = None, *, no_wait: bool = False) -> AckResult:
        """Failed: deliver again after ``delay`` seconds (default: at once,
        or per the consumer's back-off)."""
        return await self._send(replace(self.request(AckKind.NAK), delay=delay), no_wait)

    async def term(self, reason: str = "", *, no_wait: bool = False) -> AckResult:
        """Failed for good: never deliver again; ``reason`` is recorded."""
        return await self._send(replace(self.request(AckKind.TERM), reason=reason), no_wait)

    async def progress(self, *, no_wait: bool = False) -> AckResult:
        """Still working on it: restart its ack wait."""
        return await self._send(self.request(AckKind.PROGRESS), no_wait)

    async def _send(self, req: AckRequest, no_wait: bool) -> AckResult:
        if self._acker is None:
            raise RuntimeError("this message was not received by a client: acknowledge it with Session.ack")
        return await self._acker._acknowledge(req, no_wait)
