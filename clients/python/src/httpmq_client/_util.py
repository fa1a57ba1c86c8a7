"""Small helpers shared by the clients."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Coroutine, Generator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, Protocol, TypeVar

#: Headers as this package returns them: a name maps to its values, names
#: keep their case.
Headers = dict[str, list[str]]
#: Headers as this package accepts them: one value or a list per name.
HeadersLike = Mapping[str, str | Sequence[str]]


def duration_ns(d: float | timedelta | None) -> int:
    """Converts seconds (or a timedelta) to whole nanoseconds, as the wire
    wants them."""
    if d is None:
        return 0
    if isinstance(d, timedelta):
        return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000
    if d < 0:
        raise ValueError(f"negative duration {d!r}")
    return round(d * 1e9)


def ns_seconds(ns: Any) -> float:
    """Wire nanoseconds to seconds."""
    return ns / 1e9 if isinstance(ns, int) else 0.0


def headers_in(h: HeadersLike | None) -> Headers:
    """Normalises headers given by a caller."""
    out: Headers = {}
    for name, v in (h or {}).items():
        out[name] = [v] if isinstance(v, str) else list(v)
    return out


def headers_out(h: Any) -> Headers:
    """Reads headers received from the server, ignoring malformed ones."""
    if not isinstance(h, Mapping):
        return {}
    return {k: [x for x in v if isinstance(x, str)] for k, v in h.items() if isinstance(v, list)}


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))$"
)


def rfc3339_ns(s: Any) -> int:
    """Parses an RFC 3339 time (nanosecond precision, as Go writes it) into
    Unix nanoseconds; 0 when absent or unreadable."""
    if not isinstance(s, str):
        return 0
    m = _RFC3339.match(s)
    if not m:
        return 0
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    offset = 0
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60 * (1 if m.group(9) == "+" else -1)
    try:
        base = datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc)
    except ValueError:
        return 0
    seconds = int((base - _EPOCH).total_seconds()) - offset
    return seconds * 1_000_000_000 + int(frac)


def rfc3339(s: Any) -> datetime | None:
    """Parses an RFC 3339 time into an aware datetime (microseconds)."""
    ns = rfc3339_ns(s)
    return ns_datetime(ns) if isinstance(s, str) and _RFC3339.match(s) else None


def ns_datetime(ns: int) -> datetime:
    """Unix nanoseconds to an aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

class _Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class AwaitableContext(Generic[C]):
    """What :meth:`Session.connect` and the ``subscribe`` methods return:
    await it for the object, or use it in ``async with``, which closes the
    object at the end of the block."""

    __slots__ = ("_coro", "_obj")

    def __init__(self, coro: Coroutine[Any, Any, C]) -> None:
        self._coro = coro
        self._obj: C | None = None

    def __await__(self) -> Generator[Any, None, C]:
        return self._coro.__await__()

    async def __aenter__(self) -> C:
        self._obj = await self._coro
        return self._obj

    async def __aexit__(self, *exc: object) -> None:
        if self._obj is not None:
            await self._obj.close()


async def maybe_await(v: Awaitable[Any] | Any) -> Any:
    """Awaits v if it is awaitable (callbacks may be sync or async)."""
    if isinstance(v, Awaitable):
        return await v
    return v
