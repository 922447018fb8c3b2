"""The subscription total, Σ price × qty, computed by an Rx interval and published on
/topic/newsstand/totals (the prototype's ``rx.interval`` observable, on the app's event loop)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Optional

import rx
from rx.core.typing import Disposable
from rx.scheduler.eventloop import AsyncIOScheduler

from . import channels
from .broker import BrokerLink
from .db import Database, utc_now

log = logging.getLogger("newsstand.totals")


class TotalsPublisher:
    """Every ``interval`` seconds: compute the total and publish it; keeps the latest one."""

    def __init__(self, db: Database, broker: BrokerLink, interval: float) -> None:
        self._db = db
        self._broker = broker
        self._interval = interval
        self._ticks: Optional[Disposable] = None
        self._running: Optional[asyncio.Task[None]] = None
        self.latest: Optional[bytes] = None  # the last total, as published

    def start(self) -> None:
        scheduler = AsyncIOScheduler(asyncio.get_running_loop())
        self._ticks = rx.interval(self._interval, scheduler=scheduler).subscribe(
            on_next=self._on_tick,
            on_error=lambda error: log.error("totals.interval_failed error=%s", error),
        )

    def _on_tick(self, _tick: int) -> None:
        # A slow database must not pile up computations: skip a tick while one still runs.
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._publish_total())

    async def _publish_total(self) -> None:
        # `at` is taken before the query, so a total stamped after a change has seen it.
        at = utc_now()
        try:
            total = await self._db.subscription_total()
            payload = json.dumps({"total": round(total.cents / 100, 2),
                                  "subscriptions": total.subscriptions, "at": at}).encode()
            self.latest = payload
            if self._broker.connected:  # a stale total is worth nothing later: never buffer one
                await self._broker.client.publish(channels.TOTALS, payload)
        except Exception as error:  # noqa: BLE001 - the next tick tries again
            log.warning("totals.failed error=%s", error)

    async def stop(self) -> None:
        if self._ticks is not None:
            self._ticks.dispose()
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)
