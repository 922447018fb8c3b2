"""The app's queries on the newsstand database. Each call opens its own connection and runs in
a worker thread (``asyncio.to_thread``), so a query never blocks the event loop."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

# Billing workers write the same file; wait for their write lock rather than fail.
BUSY_TIMEOUT_S = 10.0


def utc_now() -> str:
    """The current time as ISO-8601 UTC with microseconds."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


@dataclass(frozen=True, slots=True)
class SubscriptionTotal:
    """Σ price × qty over every subscription, in cents, and how many there are."""

    cents: int
    subscriptions: int


@dataclass(frozen=True, slots=True)
class PublicationSales:
    """One publication's copies issued and sold, summed over every sale."""

    publication: str
    copies_issued: int
    copies_sold: int


class Database:
    """The newsstand SQLite file at ``path`` (tables from schema.sql)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def in_thread() -> T:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            # With WAL, NORMAL syncs at checkpoints rather than at every commit: a power loss
            # may forget the last records, never corrupt the file (each messenger record is a
            # commit of its own; FULL made storing 100 of them take seconds).
            db.execute("PRAGMA synchronous = NORMAL")
            try:
                with db:
                    return work(db)
            finally:
                db.close()

        return await asyncio.to_thread(in_thread)

    async def subscription_total(self) -> SubscriptionTotal:
        row = await self._run(
            lambda db: db.execute(
                "SELECT COALESCE(SUM(price_cents * qty), 0), COUNT(*) FROM subscriptions"
            ).fetchone()
        )
        return SubscriptionTotal(cents=row[0], subscriptions=row[1])

    async def sales_by_publication(self) -> list[PublicationSales]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT publication, SUM(copies_issued), SUM(copies_sold) FROM sales"
                " GROUP BY publication ORDER BY publication"
            ).fetchall()
        )
        return [PublicationSales(*row) for row in rows]

    async def customers(self, offset: int, limit: int) -> list[dict[str, Any]]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT id, name, email, address FROM customers ORDER BY id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        )
        return [{"id": r[0], "name": r[1], "email": r[2], "address": r[3]} for r in rows]

    async def queue_billing_sheet(self, job: str, billing_date: str) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO billing_sheets (job, billing_date, state, updated_at)"
                " VALUES (?, ?, 'queued', ?)",
                (job, billing_date, utc_now()),
            )
        )

    async def fail_billing_sheet(self, job: str, error: str) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE billing_sheets SET state = 'failed', error = ?, updated_at = ?"
                " WHERE job = ? AND state = 'queued'",
                (error, utc_now(), job),
            )
        )

    async def billing_sheet(self, job: str) -> Optional[dict[str, Any]]:
        row = await self._run(
            lambda db: db.execute(
                "SELECT job, billing_date, state, csv, error, updated_at FROM billing_sheets"
                " WHERE job = ?",
                (job,),
            ).fetchone()
        )
        if row is None:
            return None
        keys = ("job", "billing_date", "state", "csv", "error", "updated_at")
        return {k: v for k, v in zip(keys, row) if v is not None}

    async def store_messenger_record(self, record_id: str, messenger_id: int, body: str) -> bool:
        """Store one record unless its record_id is already there; True if it was new."""
        inserted = await self._run(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO messenger_records (record_id, messenger_id, body, received_at)"
                " VALUES (?, ?, ?, ?)",
                (record_id, messenger_id, body, utc_now()),
            ).rowcount
        )
        return bool(inserted)
