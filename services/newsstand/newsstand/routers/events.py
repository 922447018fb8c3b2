"""Every newsstand event, pushed over a WebSocket as ``{"channel": ..., "payload": ...}``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, WebSocket

from ..deps import hub
from ..hub import Event, EventHub, Listener

router = APIRouter(tags=["events"])


def _decoded(event: Event) -> Any:
    try:
        return json.loads(event.payload)
    except ValueError:
        return event.payload.decode("utf-8", "replace")


async def _push(ws: WebSocket, listener: Listener) -> None:
    async for event in listener:
        await ws.send_text(json.dumps({"channel": event.channel, "payload": _decoded(event)}))


async def _until_closed(ws: WebSocket) -> None:
    # The client has nothing to say; reading notices it leaving.
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


@router.websocket("/ws/events")
async def events(ws: WebSocket, event_hub: EventHub = Depends(hub)) -> None:
    """Pushes every event under /topic/newsstand/> from the moment the socket is accepted."""
    with event_hub.listen() as listener:
        await ws.accept()
        tasks = [asyncio.create_task(_push(ws, listener)), asyncio.create_task(_until_closed(ws))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
