"""paperboy: an asyncio client for the paperboyd message broker (PB1 versions 1 and 2).

Standard library only. ``await paperboy.connect(host, port)`` returns a ``Client`` that
reconnects, resubscribes and buffers publishes while the broker is away; see README.md.
"""

from .client import Client, Options, connect
from .errors import (
    ConnectionLost,
    Error,
    NoResponders,
    NotAuthorized,
    OfflineBufferFull,
    Timeout,
)
from .message import Message
from .subscription import Subscription

__version__ = "0.2.0"

__all__ = [
    "Client",
    "ConnectionLost",
    "Error",
    "Message",
    "NoResponders",
    "NotAuthorized",
    "OfflineBufferFull",
    "Options",
    "Subscription",
    "Timeout",
    "connect",
]
