"""The sales quota: buy instructions computed from the sales table and published."""

from __future__ import annotations

import json
from typing import Any

import paperboy
from fastapi import APIRouter, Depends, HTTPException, Query, status

from .. import channels
from ..broker import BrokerLink
from ..db import Database
from ..deps import broker, database
from ..sales import DEFAULT_QUOTA, buy_instructions

router = APIRouter(tags=["sales"])


@router.get("/sales/list/quota")
async def sales_quota(
    quota: float = Query(DEFAULT_QUOTA, gt=0, le=1, description="sold/issued ratio to exceed"),
    db: Database = Depends(database),
    link: BrokerLink = Depends(broker),
) -> dict[str, Any]:
    """Publishes each buy instruction (sales.py has the rule) on /topic/newsstand/sales/quota,
    confirmed, and returns them."""
    instructions = buy_instructions(await db.sales_by_publication(), quota)
    try:
        for instruction in instructions:
            await link.publish_confirmed(channels.SALES_QUOTA, json.dumps(instruction))
    except paperboy.Error as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"instructions not published: {error}")
    return {"quota": quota, "instructions": instructions}
