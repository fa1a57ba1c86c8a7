"""The management API's answers as typed values.

Durations are seconds (floats) here and nanoseconds on the wire; times are
aware UTC datetimes. Unlimited limits are -1 (``max_age`` 0), as the server
shows them. Every value keeps the JSON it was read from in ``raw``, for
fields newer than this client.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._util import Headers, headers_out, ns_seconds, rfc3339
from .errors import ProtocolError

__all__ = [
    "ConsumerConfig",
    "ConsumerInfo",
    "SequenceInfo",
    "StoredMessage",
    "StreamConfig",
    "StreamInfo",
    "StreamState",
]

_Obj = dict[str, Any]


def _int(o: _Obj, k: str) -> int:
    v = o.get(k)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _str(o: _Obj, k: str) -> str:
    v = o.get(k)
    return v if isinstance(v, str) else ""


def _strs(o: _Obj, k: str) -> list[str]:
    v = o.get(k)
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _obj(o: _Obj, k: str) -> _Obj:
    v = o.get(k)
    return v if isinstance(v, dict) else {}


@dataclass(frozen=True)
class StreamConfig:
    """A stream's configuration."""

    name: str
    subjects: list[str]
    max_consumers: int
    max_msgs: int
    max_bytes: int
    #: seconds; 0 is unlimited
    max_age: float
    max_msgs_per_subject: int
    max_msg_size: int
    #: "file" or "memory"
    storage: str
    #: "limits", "interest" or "workqueue"
    retention: str
    #: "old" or "new"
    discard: str
    replicas: int
    #: seconds during which message ids are remembered
    duplicate_window: float
    description: str = ""

    @classmethod
    def from_json(cls, o: _Obj) -> StreamConfig:
        return cls(
            name=_str(o, "name"),
            subjects=_strs(o, "subjects"),
            max_consumers=_int(o, "max_consumers"),
            max_msgs=_int(o, "max_msgs"),
            max_bytes=_int(o, "max_bytes"),
            max_age=ns_seconds(o.get("max_age")),
            max_msgs_per_subject=_int(o, "max_msgs_per_subject"),
            max_msg_size=_int(o, "max_msg_size"),
            storage=_str(o, "storage"),
            retention=_str(o, "retention"),
            discard=_str(o, "discard"),
            replicas=_int(o, "replicas"),
            duplicate_window=ns_seconds(o.get("duplicate_window")),
            description=_str(o, "description"),
        )


@dataclass(frozen=True)
class StreamState:
    """What a stream holds."""

    messages: int
    bytes: int
    first_seq: int
    first_ts: datetime | None
    last_seq: int
    last_ts: datetime | None
    consumer_count: int
    num_subjects: int

    @classmethod
    def from_json(cls, o: _Obj) -> StreamState:
        return cls(
            messages=_int(o, "messages"),
            bytes=_int(o, "bytes"),
            first_seq=_int(o, "first_seq"),
            first_ts=rfc3339(o.get("first_ts")),
            last_seq=_int(o, "last_seq"),
            last_ts=rfc3339(o.get("last_ts")),
            consumer_count=_int(o, "consumer_count"),
            num_subjects=_int(o, "num_subjects"),
        )


@dataclass(frozen=True)
class StreamInfo:
    """A stream as the server shows it."""

    config: StreamConfig
    created: datetime | None
    state: StreamState
    raw: _Obj = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def from_json(cls, o: _Obj) -> StreamInfo:
        return cls(
            config=StreamConfig.from_json(_obj(o, "config")),
            created=rfc3339(o.get("created")),
            state=StreamState.from_json(_obj(o, "state")),
            raw=o,
        )


@dataclass(frozen=True)
class SequenceInfo:
    """A consumer position."""

    consumer_seq: int
    stream_seq: int
    last_active: datetime | None = None

    @classmethod
    def from_json(cls, o: _Obj) -> SequenceInfo:
        return cls(_int(o, "consumer_seq"), _int(o, "stream_seq"), rfc3339(o.get("last_active")))


@dataclass(frozen=True)
class ConsumerConfig:
    """A consumer's configuration."""

    #: "push" or "pull"
    mode: str
    #: seconds before an unacknowledged delivery comes again
    ack_wait: float
    deliver_policy: str
    replicas: int
    filter_subject: str = ""
    filter_subjects: list[str] = field(default_factory=list)
    deliver_group: str = ""
    deliver_subject: str = ""
    #: -1 (or 0) is unlimited
    max_deliver: int = 0
    max_ack_pending: int = 0
    max_waiting: int = 0
    opt_start_seq: int = 0
    opt_start_time: datetime | None = None
    #: seconds, per redelivery attempt
    backoff: list[float] = field(default_factory=list)
    #: seconds; 0 is never
    inactive_threshold: float = 0.0
    memory_storage: bool = False
    headers_only: bool = False
    notes: str = ""

    @classmethod
    def from_json(cls, o: _Obj) -> ConsumerConfig:
        backoff = o.get("backoff")
        return cls(
            mode=_str(o, "mode"),
            ack_wait=ns_seconds(o.get("ack_wait")),
            deliver_policy=_str(o, "deliver_policy"),
            replicas=_int(o, "replicas"),
            filter_subject=_str(o, "filter_subject"),
            filter_subjects=_strs(o, "filter_subjects"),
            deliver_group=_str(o, "deliver_group"),
            deliver_subject=_str(o, "deliver_subject"),
            max_deliver=_int(o, "max_deliver"),
            max_ack_pending=_int(o, "max_ack_pending"),
            max_waiting=_int(o, "max_waiting"),
            opt_start_seq=_int(o, "opt_start_seq"),
            opt_start_time=rfc3339(o.get("opt_start_time")),
            backoff=[ns_seconds(b) for b in backoff] if isinstance(backoff, list) else [],
            inactive_threshold=ns_seconds(o.get("inactive_threshold")),
            memory_storage=o.get("memory_storage") is True,
            headers_only=o.get("headers_only") is True,
            notes=_str(o, "notes"),
        )


@dataclass(frozen=True)
class ConsumerInfo:
    """A consumer as the server shows it."""

    stream_name: str
    name: str
    created: datetime | None
    config: ConsumerConfig
    delivered: SequenceInfo
    ack_floor: SequenceInfo
    num_ack_pending: int
    num_redelivered: int
    num_waiting: int
    num_pending: int
    push_bound: bool
    raw: _Obj = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, o: _Obj) -> ConsumerInfo:
        return cls(
            stream_name=_str(o, "stream_name"),
            name=_str(o, "name"),
            created=rfc3339(o.get("created")),
            config=ConsumerConfig.from_json(_obj(o, "config")),
            delivered=SequenceInfo.from_json(_obj(o, "delivered")),
            ack_floor=SequenceInfo.from_json(_obj(o, "ack_floor")),
            num_ack_pending=_int(o, "num_ack_pending"),
            num_redelivered=_int(o, "num_redelivered"),
            num_waiting=_int(o, "num_waiting"),
            num_pending=_int(o, "num_pending"),
            push_bound=o.get("push_bound") is True,
            raw=o,
        )


@dataclass(frozen=True)
class StoredMessage:
    """A message read from a stream by sequence."""

    stream: str
    subject: str
    sequence: int
    time: datetime | None
    headers: Headers
    data: bytes

    @classmethod
    def from_json(cls, o: _Obj) -> StoredMessage:
        return cls(
            stream=_str(o, "stream"),
            subject=_str(o, "subject"),
            sequence=_int(o, "sequence"),
            time=rfc3339(o.get("time")),
            headers=headers_out(o.get("headers")),
            data=b64decode(o.get("b64_msg")),
        )


def b64decode(v: Any) -> bytes:
    """Decodes a standard base64 payload; absent is empty."""
    if not isinstance(v, str) or not v:
        return b""
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ProtocolError(f"httpmq: payload is not base64: {e}") from e
