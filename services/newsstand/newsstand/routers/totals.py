"""The subscription totals the Rx interval publishes, as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import StreamingResponse

from .. import channels
from ..deps import hub, totals
from ..hub import EventHub
from ..sse import event_stream
from ..totals import TotalsPublisher

router = APIRouter(tags=["totals"])


@router.get("/subscriptions/totals/sse", response_class=StreamingResponse)
async def totals_events(
    events: EventHub = Depends(hub), publisher: TotalsPublisher = Depends(totals)
) -> StreamingResponse:
    """The latest total at once (when there is one), then each one published."""
    first = [publisher.latest] if publisher.latest else []
    return event_stream(events.listen(channels.TOTALS), first)
