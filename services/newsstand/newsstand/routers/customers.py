"""The customer list over a WebSocket, a page at a time, each page acknowledged by the client."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect, status

from ..db import Database
from ..deps import database

router = APIRouter(tags=["customers"])


@router.websocket("/customer/list/ws")
async def customer_list(
    ws: WebSocket,
    page_size: int = Query(100, ge=1, le=1000),
    db: Database = Depends(database),
) -> None:
    """Sends ``{"page": n, "customers": [...], "last": bool}`` and waits for ``{"ack": n}``
    before the next page (the client paces the stream); closes after the last ack. A wrong ack
    closes the socket with 1008."""
    await ws.accept()
    page = 0
    try:
        while True:
            customers = await db.customers(page * page_size, page_size + 1)
            last = len(customers) <= page_size
            await ws.send_text(json.dumps(
                {"page": page, "customers": customers[:page_size], "last": last}))
            try:
                ack = json.loads(await ws.receive_text())
            except (ValueError, KeyError):  # not JSON, or a binary frame
                ack = None
            if not isinstance(ack, dict) or ack.get("ack") != page:
                await ws.close(status.WS_1008_POLICY_VIOLATION)
                return
            if last:
                await ws.close()
                return
            page += 1
    except WebSocketDisconnect:
        return
