"""A subscription: the messages of one channel or pattern, as an async iterator."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Callable, Optional

from .errors import Timeout
from .message import message_held_bytes

if TYPE_CHECKING:
    from .client import Client
    from .message import Message

GapHandler = Callable[[str, int], object]


class Subscription:
    """Messages on ``channel`` (a name or a ``/topic`` wildcard pattern), in arrival order.

    ``async for msg in sub`` yields them until the subscription ends (``unsubscribe``, ``drain``,
    ``close``); it raises ``ConnectionLost`` if the client gave up reconnecting. What the client
    holds for it is bounded by ``max_pending_messages`` and ``max_pending_bytes``: at the bound
    the client stops reading the socket until the application catches up."""

    def __init__(
        self,
        client: "Client",
        channel: str,
        manual_ack: bool,
        prefetch: int,
        on_gap: Optional[GapHandler],
        max_pending_messages: int,
        max_pending_bytes: int,
    ) -> None:
        self.channel = channel
        self.manual_ack = manual_ack
        self.prefetch = prefetch
        self.on_gap = on_gap
        self.max_pending_messages = max_pending_messages
        self.max_pending_bytes = max_pending_bytes
        self.dropped = 0
        """Messages the broker reported lost to this subscription (GAP), since it began."""
        self.unacked = 0
        """Manual-ack deliveries handed to the application and not yet acked or nacked."""
        self._client = client
        self._queue: deque["Message"] = deque()
        self._bytes = 0
        self._waiter: Optional[asyncio.Future[None]] = None
        self._ended = False
        self._end_error: Optional[BaseException] = None
        self._unsubscribed = False
        self._holding = False  # drain: hand out nothing more, keep the rest for the broker
        self._handler_task: Optional["asyncio.Task[None]"] = None
        # The subscribe() still waiting for the broker's OK when the connection was lost.
        self._resubscribed: Optional[asyncio.Future[None]] = None

    @property
    def pending(self) -> int:
        """Messages received and not yet taken by the application."""
        return len(self._queue)

    @property
    def pending_bytes(self) -> int:
        """Payload bytes of ``pending``."""
        return self._bytes

    @property
    def active(self) -> bool:
        return not self._ended

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> "Message":
        while True:
            queue = self._queue
            if queue and not self._holding:
                msg = queue.popleft()
                self._bytes -= message_held_bytes(msg)
                if msg.delivery:
                    self.unacked += 1
                    msg._subscription = self
                if self._client._paused_by is self:
                    self._client._consumed(self)
                return msg
            if self._ended or self._holding:
                if self._end_error is not None:
                    raise self._end_error
                raise StopAsyncIteration
            waiter = self._waiter = self._client._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def next_msg(self, timeout: Optional[float] = None) -> "Message":
        """The next message; ``paperboy.Timeout`` if none comes within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"no message on {self.channel} within {timeout} s") from None

    async def unsubscribe(self) -> None:
        """Leave the channel; returns once the broker confirmed it. Auto-ack and topic messages
        received until then (the broker wrote them before it processed the UNSUB) are still
        yielded, then iteration ends; manual-ack ones the broker gives back to the queue."""
        await self._client._unsubscribe(self)

    # -- called by the client -------------------------------------------------------------------

    def _push(self, msg: "Message") -> None:
        self._queue.append(msg)
        self._bytes += message_held_bytes(msg)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _is_full(self, incoming_bytes: int) -> bool:
        return len(self._queue) >= self.max_pending_messages or (
            self._bytes > 0 and self._bytes + incoming_bytes > self.max_pending_bytes
        )

    def _has_room_again(self) -> bool:
        return (
            len(self._queue) <= self.max_pending_messages // 2
            and self._bytes <= self.max_pending_bytes // 2
        )

    def _gap(self, channel: str, dropped: int) -> None:
        self.dropped += dropped
        if self.on_gap is not None:
            self._client._call_back(self.on_gap, channel, dropped)

    def _settled(self) -> None:
        if self.unacked > 0:
            self.unacked -= 1

    def _forget_unacked(self) -> None:
        """The connection that delivered them is gone: the broker gave them back."""
        self.unacked = 0
        if self.manual_ack and self._queue:
            self._queue.clear()
            self._bytes = 0

    def _end(self, error: Optional[BaseException] = None, keep_pending: bool = True) -> None:
        self._ended = True
        self._end_error = error
        if not keep_pending:
            self._queue.clear()
            self._bytes = 0
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
