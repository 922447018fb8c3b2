"""Messenger records: published confirmed on /topic/newsstand/messenger, streamed as SSE."""

from __future__ import annotations

import json
import uuid
from typing import Optional

import paperboy
from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Extra
from starlette.responses import StreamingResponse

from .. import channels
from ..broker import BrokerLink
from ..deps import broker, hub
from ..hub import EventHub
from ..sse import event_stream

router = APIRouter(tags=["messenger"])


class MessengerRecord(BaseModel):
    """A messenger's record (a delivery, a position, ...): any fields besides these two."""

    record_id: Optional[str] = None
    messenger_id: int

    class Config:
        extra = Extra.allow


@router.post("/messenger/send", status_code=status.HTTP_201_CREATED)
async def send_record(record: MessengerRecord, link: BrokerLink = Depends(broker)) -> dict[str, str]:
    """Publish the record (a record_id is given to one without); 201 once the broker has it."""
    body = record.dict()
    body["record_id"] = record.record_id or uuid.uuid4().hex
    try:
        await link.publish_confirmed(channels.MESSENGER, json.dumps(body))
    except paperboy.Error as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the record was not published: {error}")
    return {"record_id": body["record_id"]}


@router.get("/messenger/sse", response_class=StreamingResponse)
async def messenger_events(events: EventHub = Depends(hub)) -> StreamingResponse:
    """Every record published from now on, one ``data:`` JSON event each."""
    return event_stream(events.listen(channels.MESSENGER))
