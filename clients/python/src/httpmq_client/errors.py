"""The exceptions of httpmq_client: one hierarchy under :class:`HttpmqError`.

- :class:`APIError`: the server refused (a REST error body, a session
  ``error`` or ``closed`` frame, a refused handshake). Switch on ``reason``.
- :class:`ConnectionLostError`: the connection dropped before the reply;
  the outcome is unknown.
- :class:`SessionClosedError`, :class:`CloseError`: the session has ended.
- :class:`UnsubscribedError`: the subscription was ended by the client.
- :class:`TransportError`: a REST request could not be sent or its answer
  not read (connection refused, timeout).
- :class:`ProtocolError`: the server answered something this client cannot
  read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "CloseError",
    "ConnectionLostError",
    "HttpmqError",
    "ProtocolError",
    "SessionClosedError",
    "TransportError",
    "UnsubscribedError",
]


class HttpmqError(Exception):
    """Base class of every exception this package raises."""


class APIError(HttpmqError):
    """A failure reported by the server.

    ``reason`` is the stable machine-readable reason (``"stream_not_found"``,
    ``"ack_not_pending"``...; the table is in docs/protocol.md): switch on it,
    never on ``message``. ``status`` is the HTTP status: of the REST answer,
    or the one the server put in a session error frame (``None`` when it did
    not say).
    """

    def __init__(
        self,
        status: int | None,
        reason: str,
        message: str = "",
        detail: str = "",
        retryable: bool = False,
        request_id: str = "",
        retry_after: float | None = None,
        sub: str = "",
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.detail = detail
        self.retryable = retryable
        self.request_id = request_id
        #: Seconds to wait before retrying, when the server said (rate limits).
        self.retry_after = retry_after
        #: The session subscription concerned, if any.
        self.sub = sub
        super().__init__(str(self))

    @classmethod
    def from_error(
        cls, err: Mapping[str, Any], *, status: int | None = None, request_id: str = ""
    ) -> APIError:
        """Builds an APIError from an error object: a REST body's ``error``
        or a session ``error``/``closed`` frame.

        ``code`` is the HTTP status as an integer and ``reason`` the stable
        string; older servers sent the string in ``code``, which is read as
        the reason then.
        """
        code = err.get("code")
        reason = err.get("reason")
        if not isinstance(reason, str) or not reason:
            reason = code if isinstance(code, str) else ""
        if status is None and isinstance(code, int) and not isinstance(code, bool):
            status = code
        retry_after = err.get("retry_after")
        return cls(
            status=status,
            reason=reason,
            message=_str(err.get("message")),
            detail=_str(err.get("detail")),
            retryable=err.get("retryable") is True,
            request_id=request_id or _str(err.get("request_id")),
            retry_after=retry_after / 1e9 if isinstance(retry_after, int) and retry_after > 0 else None,
            sub=_str(err.get("sub")),
        )

    def __str__(self) -> str:
        s = "httpmq: " + (self.reason or f"HTTP {self.status}")
        if self.message:
            s += ": " + self.message
        if self.detail:
            s += f" ({self.detail})"
        if self.request_id:
            s += f" [request {self.request_id}]"
        return s

    def __repr__(self) -> str:
        return f"APIError(status={self.status!r}, reason={self.reason!r}, message={self.message!r})"


class ConnectionLostError(HttpmqError):
    """The connection dropped after a command was sent and before its reply
    came. The outcome is unknown: a publish may have been stored, an ack
    recorded. Publish again with the same ``msg_id`` to be safe."""


class SessionClosedError(HttpmqError):
    """The session was closed by :meth:`Session.close`."""


class CloseError(HttpmqError):
    """The server closed the session with a WebSocket close code that calls
    for no reconnection (1002 protocol_error, 1009 message_too_big...), or
    the credentials expired and no token provider can renew them."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"httpmq: session closed by the server: {code} {reason}".rstrip())


class UnsubscribedError(HttpmqError):
    """The subscription was ended by the client (unsubscribe or close)."""


class TransportError(HttpmqError):
    """A REST request could not be sent or its answer not read: connection
    refused, timeout, connection reset. The cause is chained
    (``__cause__``)."""


class ProtocolError(HttpmqError):
    """The server's answer could not be understood (not JSON, a first frame
    that is not ``hello``, a WebSocket message of the wrong kind...)."""


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""
