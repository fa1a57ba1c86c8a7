"""What a session tells its ``on_event`` callback, and what a server
announces when a connection opens."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import SessionSubscription

__all__ = ["EventKind", "Hello", "SessionEvent", "EventCallback"]


class EventKind(str, enum.Enum):
    """What a :class:`SessionEvent` reports."""

    #: The connection dropped (``error`` says why); the session reconnects
    #: unless told not to.
    DISCONNECTED = "disconnected"
    #: A new connection is up (``url``, after ``attempt`` tries); the
    #: subscriptions are being restored.
    RECONNECTED = "reconnected"
    #: A subscription was restored on the new connection (``sub``).
    RESUBSCRIBED = "resubscribed"
    #: A subscription ended on the server's side or could not be restored
    #: (``error``: consumer_not_found, say).
    SUBSCRIPTION_LOST = "subscription_lost"
    #: The server reported an error tied to no command, such as a failed
    #: fire-and-forget acknowledgement (``error``).
    SERVER_ERROR = "server_error"
    #: The session's token was replaced by a fresh one (an ``auth`` frame).
    AUTH_REFRESHED = "auth_refreshed"
    #: Replacing the token failed (``error``); the server closes the session
    #: at the old token's expiry and the session reconnects with a new one.
    AUTH_FAILED = "auth_failed"
    #: The session ended for good (``error``: why).
    CLOSED = "closed"


@dataclass(frozen=True)
class SessionEvent:
    """A change in a session's connection or subscriptions."""

    kind: EventKind
    url: str = ""
    error: Exception | None = None
    attempt: int = 0
    sub: SessionSubscription | None = None


#: The ``on_event`` callback: called from the session's own task; it must
#: return quickly and not block.
EventCallback = Callable[[SessionEvent], None]


@dataclass(frozen=True)
class Hello:
    """What the server announced when the connection opened."""

    #: The session id, for logs and support.
    session: str
    #: The largest message the server accepts, in bytes.
    max_frame: int
    #: The most subscriptions the session may have.
    max_subs: int
    #: Seconds between the server's pings.
    heartbeat: float
    #: The connection's URL and subprotocol.
    url: str
    subprotocol: str
