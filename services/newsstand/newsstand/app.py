"""``create_app``: the FastAPI application, its routers and what runs beside them."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from .broker import BrokerLink
from .config import Settings
from .db import Database
from .hub import EventHub
from .messenger_store import MessengerStore
from .routers import billing, customers, dashboard, events, messenger, sales, totals
from .totals import TotalsPublisher


def create_app(settings: Settings) -> FastAPI:
    """The app for ``settings``: it connects to the broker on start-up and drains on shutdown."""
    app = FastAPI(title="newsstand", description="The newsstand's services on paperboy.")
    db = Database(settings.db)
    hub = EventHub()
    link = BrokerLink(settings.brokers, hub)
    publisher = TotalsPublisher(db, link, settings.totals_interval)
    app.state.db, app.state.hub, app.state.broker, app.state.totals = db, hub, link, publisher

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        await link.start()
        await MessengerStore(db, link).start()
        publisher.start()
        try:
            yield
        finally:
            await publisher.stop()
            await link.stop()

    # FastAPI 0.92 (Debian 12) has no lifespan argument yet; its router takes one.
    app.router.lifespan_context = lifespan
    for module in (billing, messenger, customers, events, totals, sales, dashboard):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    return app
