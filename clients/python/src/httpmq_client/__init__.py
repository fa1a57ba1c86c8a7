"""The Python asyncio client of httpmq, the HTTP/2 and WebSocket bridge to
NATS JetStream.

Three clients, one per API:

- :class:`Session` (``await Session.connect(url)``): one WebSocket carrying
  many subscriptions, publishes and acknowledgements, in JSON or msgpack
  frames. It reconnects with back-off, subscribes again and renews its token
  by itself. The client for long-lived services.
- :class:`Dataplane`: the REST dataplane: publish, push-subscribe (a
  long-lived NDJSON response), acknowledge.
- :class:`Admin`: the management API: streams, consumers, stored messages.

Both kinds of subscription are a :class:`Subscription`: ``async for msg in
sub``, or a callback; every :class:`Message` is acknowledged with ``ack``,
``nak``, ``term`` or ``progress``. Everything is an async context manager
and closes every task it started.

Failures the server reports raise :class:`APIError` with its stable
``reason`` and HTTP ``status``; every exception derives from
:class:`HttpmqError`.

Delivery is at least once: a message not acknowledged within the consumer's
ack wait comes again, with the same ``stream_seq`` and a higher
``consumer_seq``.
"""

from ._auth import TokenProvider
from ._util import Headers, HeadersLike
from .admin import Admin
from .dataplane import Dataplane, RestSubscription
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
from .events import EventKind, Hello, SessionEvent
from .message import AckKind, AckRequest, AckResult, BatchMessage, BatchResult, Message, PubAck
from .models import ConsumerConfig, ConsumerInfo, SequenceInfo, StoredMessage, StreamConfig, StreamInfo, StreamState
from .session import Session, SessionSubscription
from .subscription import Subscription

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AckKind",
    "AckRequest",
    "AckResult",
    "Admin",
    "BatchMessage",
    "BatchResult",
    "CloseError",
    "ConnectionLostError",
    "ConsumerConfig",
    "ConsumerInfo",
    "Dataplane",
    "EventKind",
    "Headers",
    "HeadersLike",
    "Hello",
    "HttpmqError",
    "Message",
    "ProtocolError",
    "PubAck",
    "RestSubscription",
    "SequenceInfo",
    "Session",
    "SessionClosedError",
    "SessionEvent",
    "SessionSubscription",
    "StoredMessage",
    "StreamConfig",
    "StreamInfo",
    "StreamState",
    "Subscription",
    "TokenProvider",
    "TransportError",
    "UnsubscribedError",
]
