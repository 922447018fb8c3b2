"""Exceptions raised by the client; ``Error.code`` is the PB1 wire error code (0: client-side)."""

from __future__ import annotations

# Wire error codes (protocol/PROTOCOL.md, "Error codes").
PROTOCOL = 1
FRAME_TOO_LARGE = 2
BAD_CHANNEL = 3
NOT_AUTHORIZED = 4
UNKNOWN_DELIVERY = 5
SHUTTING_DOWN = 6
TOO_MANY_CONNECTIONS = 7
SLOW_CONSUMER = 8
UNSUPPORTED_VERSION = 9
AUTH_FAILED = 10
NO_SUBSCRIBERS = 11
STORAGE_UNAVAILABLE = 12

CODE_NAMES = {
    PROTOCOL: "protocol",
    FRAME_TOO_LARGE: "frame_too_large",
    BAD_CHANNEL: "bad_channel",
    NOT_AUTHORIZED: "not_authorized",
    UNKNOWN_DELIVERY: "unknown_delivery",
    SHUTTING_DOWN: "shutting_down",
    TOO_MANY_CONNECTIONS: "too_many_connections",
    SLOW_CONSUMER: "slow_consumer",
    UNSUPPORTED_VERSION: "unsupported_version",
    AUTH_FAILED: "auth_failed",
    NO_SUBSCRIBERS: "no_subscribers",
    STORAGE_UNAVAILABLE: "storage_unavailable",
}

# Codes that refuse one request and leave the connection open; every other code ends it.
KEEPS_CONNECTION = frozenset(
    {BAD_CHANNEL, NOT_AUTHORIZED, UNKNOWN_DELIVERY, NO_SUBSCRIBERS, STORAGE_UNAVAILABLE}
)


class Error(Exception):
    """A paperboy failure. ``code`` is the wire error code, or 0 for a client-side failure."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class NoResponders(Error):
    """A request (or a publish that required a subscriber) found nobody to receive it (code 11)."""


class Timeout(Error, TimeoutError):
    """No answer within the time allowed."""


class ConnectionLost(Error, ConnectionError):
    """The connection is gone (and, for this operation, will not be retried)."""


class NotAuthorized(Error):
    """The broker refused the credentials (code 10) or the operation (code 4)."""


class OfflineBufferFull(Error):
    """A publish while disconnected did not fit in the bounded offline buffer."""


def server_error(code: int, text: str, what: str = "") -> Error:
    """The exception for an ERR frame with ``code`` and ``text``."""
    name = CODE_NAMES.get(code, "unknown")
    message = f"{what}: ERR {code} {name}: {text}" if what else f"ERR {code} {name}: {text}"
    if code == NO_SUBSCRIBERS:
        return NoResponders(message, code)
    if code in (NOT_AUTHORIZED, AUTH_FAILED):
        return NotAuthorized(message, code)
    return Error(message, code)
