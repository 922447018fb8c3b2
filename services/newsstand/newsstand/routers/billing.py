"""Billing: payables totals by request/reply to the billing workers, billing-sheet jobs."""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from typing import Any

import paperboy
from fastapi import APIRouter, Depends, HTTPException, Query, status

from .. import channels
from ..broker import BrokerLink
from ..db import Database
from ..deps import broker, database

log = logging.getLogger("newsstand.billing")
router = APIRouter(tags=["billing"])

# The prototype waited five seconds for its Celery task (apply_async(...).get(timeout=5)).
PAYABLES_TIMEOUT_S = 5.0


@router.post("/billing/total/payable")
async def total_payable(
    billing_date: datetime.date = Query(..., description="YYYY-MM-DD"),
    link: BrokerLink = Depends(broker),
) -> dict[str, Any]:
    """The sum of the year's payables up to ``billing_date``, from a billing worker."""
    request = json.dumps({"billing_date": billing_date.isoformat()})
    try:
        reply = await link.connected_client().request(channels.PAYABLES, request, timeout=PAYABLES_TIMEOUT_S)
    except paperboy.NoResponders:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no billing worker is running")
    except paperboy.Timeout:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT,
                            f"no billing worker answered within {PAYABLES_TIMEOUT_S:g} s")
    except paperboy.ConnectionLost:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the broker is not reachable")
    try:
        answer = json.loads(reply.payload)
    except ValueError:
        answer = {"error": "the worker's reply is not JSON"}
    if not isinstance(answer, dict) or "error" in answer or "total" not in answer:
        log.warning("billing.bad_reply payload=%r", reply.payload[:200])
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"billing worker failed: {answer}")
    return {"billing_date": answer.get("billing_date", billing_date.isoformat()),
            "total": answer["total"]}


@router.post("/billing/sheet", status_code=status.HTTP_202_ACCEPTED)
async def queue_billing_sheet(
    billing_date: datetime.date = Query(..., description="YYYY-MM-DD"),
    db: Database = Depends(database),
    link: BrokerLink = Depends(broker),
) -> dict[str, str]:
    """Queue a billing sheet (the CSV of the day's vendor billings) for a billing worker."""
    job = uuid.uuid4().hex
    await db.queue_billing_sheet(job, billing_date.isoformat())
    message = json.dumps({"job": job, "billing_date": billing_date.isoformat()})
    try:
        await link.publish_confirmed(channels.SHEETS, message)
    except paperboy.Error as error:
        await db.fail_billing_sheet(job, f"not queued: {error}")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the job was not queued: {error}")
    return {"job": job}


@router.get("/billing/sheet/{job}")
async def billing_sheet(job: str, db: Database = Depends(database)) -> dict[str, Any]:
    """A billing-sheet job's state, and its CSV once done."""
    sheet = await db.billing_sheet(job)
    if sheet is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no billing-sheet job {job}")
    return sheet
