"""In-process fan-out of the broker's newsstand events to the app's streams.

The client allows one subscription per channel name, and every SSE or WebSocket stream wants its
own copy of the events, so the app subscribes once to ``/topic/newsstand/>`` and the hub hands
each event to every listener that asked for its channel.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import AsyncIterator, Optional

log = logging.getLogger("newsstand.hub")

# Events one listener may hold before it is cut off: a browser tab that stopped reading must not
# make the app's memory grow.
LISTENER_BACKLOG = 10_000


@dataclass(frozen=True, slots=True)
class Event:
    """One message seen on a newsstand topic."""

    channel: str
    payload: bytes


class Listener:
    """The events of one channel (or every channel) for one stream, in arrival order."""

    def __init__(self, hub: "EventHub", channel: Optional[str]) -> None:
        self._hub = hub
        self.channel = channel
        self._events: asyncio.Queue[Optional[Event]] = asyncio.Queue(LISTENER_BACKLOG)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        if self._events.qsize() >= LISTENER_BACKLOG - 1:
            # Keep the last slot for the end marker: the stream ends instead of skipping events.
            self.overflowed = True
            self._events.put_nowait(None)
            log.warning("hub.listener_overflow channel=%s backlog=%d", self.channel, LISTENER_BACKLOG)
            return
        self._events.put_nowait(event)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self._events.get()) is not None:
            yield event

    def close(self) -> None:
        self._hub.forget(self)

    def __enter__(self) -> "Listener":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventHub:
    """Dispatches events to listeners; ``listen`` registers one at once (no event is missed
    between the call and the first iteration)."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    def listen(self, channel: Optional[str] = None) -> Listener:
        """A listener for ``channel``'s events, or every event when None; use it in ``with``."""
        listener = Listener(self, channel)
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def dispatch(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            if listener.channel is None or listener.channel == event.channel:
                listener.offer(event)
