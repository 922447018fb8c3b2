"""Server-sent events: one ``data:`` line of JSON per event."""

from __future__ import annotations

from typing import AsyncIterator, Iterable

from starlette.responses import StreamingResponse

from .hub import Listener


async def _frames(first: Iterable[bytes], listener: Listener) -> AsyncIterator[bytes]:
    with listener:
        yield b": stream open\n\n"  # sends the headers and tells the client it is listening
        for payload in first:
            yield b"data: " + payload + b"\n\n"
        # What was sent first may also be on its way through the broker (the latest total,
        # published just before the stream opened): sent once, not twice.
        already_sent = set(first)
        async for event in listener:
            if event.payload in already_sent:
                already_sent.discard(event.payload)
                continue
            # Payloads are single-line JSON (json.dumps); SSE would split a multi-line one.
            yield b"data: " + event.payload.replace(b"\n", b" ") + b"\n\n"


def event_stream(listener: Listener, first: Iterable[bytes] = ()) -> StreamingResponse:
    """A text/event-stream of ``first`` then every other event ``listener`` gets, until the client
    goes away (Starlette cancels the stream on disconnect, and the listener is closed)."""
    return StreamingResponse(
        _frames(first, listener),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
