"""A delivered message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .codec import decode_header_block

if TYPE_CHECKING:
    from .client import Client
    from .subscription import Subscription


#: What a held Message costs beyond the bytes of its fields, in CPython 3.11: the object (112 bytes,
#: its slots), the payload's bytes header (33), the channel's str header (49) and the queue slot (8).
MESSAGE_OVERHEAD = 200


def held_bytes(channel: str, payload_size: int, reply_to: str, header_block: bytes) -> int:
    """What a Message with these fields costs the client while a subscription holds it (the
    bound of ``max_pending_bytes`` counts this, not the payload alone)."""
    return MESSAGE_OVERHEAD + payload_size + len(channel) + len(reply_to) + len(header_block)


def message_held_bytes(msg: "Message") -> int:
    return held_bytes(msg.channel, len(msg.payload), msg.reply_to, msg._header_block)


class Message:
    """One MSG: ``channel`` it was published on, ``payload``, ``reply_to`` ("" if none),
    ``headers``, ``published_at`` (Unix seconds, 0.0 from a version-1 broker), ``redelivered``
    and ``delivery`` (the id to acknowledge; 0 when no acknowledgement is needed)."""

    __slots__ = (
        "channel",
        "payload",
        "reply_to",
        "_header_block",
        "published_at_ns",
        "redelivered",
        "delivery",
        "_client",
        "_connection",
        "_subscription",
    )

    def __init__(
        self,
        channel: str,
        payload: bytes,
        reply_to: str,
        header_block: bytes,
        published_at_ns: int,
        redelivered: bool,
        delivery: int,
        client: Optional["Client"],
        connection: int,
    ) -> None:
        self.channel = channel
        self.payload = payload
        self.reply_to = reply_to
        self._header_block = header_block
        self.published_at_ns = published_at_ns
        self.redelivered = redelivered
        self.delivery = delivery
        self._client = client
        self._connection = connection
        self._subscription: Optional["Subscription"] = None

    @property
    def published_at(self) -> float:
        """When the broker accepted the publish, in Unix seconds."""
        return self.published_at_ns / 1e9

    @property
    def headers(self) -> dict[str, str]:
        """The headers as a dict (values decoded as UTF-8, undecodable bytes kept as surrogates;
        of a repeated key, the last value). ``header_list`` has every entry as sent."""
        return {k: v.decode("utf-8", "surrogateescape") for k, v in self.header_list}

    @property
    def header_list(self) -> list[tuple[str, bytes]]:
        """Every header entry in the publisher's order, repeated keys included, values as bytes."""
        return decode_header_block(self._header_block) if self._header_block else []

    async def ack(self) -> bool:
        """Acknowledge a manual-ack delivery. Returns False when there was nothing to send: the
        message needs no ack, or it came over a connection that has since been lost (the broker
        has given it back and will deliver it again)."""
        return self._settle(True)

    async def nack(self) -> bool:
        """Give a manual-ack delivery back to its queue to be delivered again (to another
        consumer if one has room). Returns False as ``ack`` does."""
        return self._settle(False)

    def _settle(self, ack: bool) -> bool:
        if self.delivery == 0 or self._client is None:
            return False
        client, self._client = self._client, None  # settled once
        sub = self._subscription
        if sub is not None:
            sub._settled()
            if sub._unsubscribed:
                return False  # the UNSUB gave it back to the queue; the broker would refuse it
        return client._settle(self.delivery, self._connection, ack)

    def __repr__(self) -> str:
        return (
            f"Message(channel={self.channel!r}, payload={self.payload[:32]!r}, "
            f"delivery={self.delivery}, redelivered={self.redelivered})"
        )
