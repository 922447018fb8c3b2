"""The dashboard page and the health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import FileResponse, JSONResponse

from ..broker import BrokerLink
from ..deps import broker

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["dashboard"])


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/healthz")
async def healthz(link: BrokerLink = Depends(broker)) -> JSONResponse:
    """200 with the broker connected, 503 while it is not."""
    body: dict[str, Any] = {
        "broker": "connected" if link.connected else "disconnected",
        "servers": [f"{host}:{port}" for host, port in link.brokers],
    }
    return JSONResponse(body, status_code=200 if link.connected else 503)
