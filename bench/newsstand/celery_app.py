"""The prototype's path: the yearly payables job as a Celery 5 task, RabbitMQ as the broker and
Redis as the result backend. The bench points it at its own servers and database with
NEWSSTAND_BENCH_AMQP, NEWSSTAND_BENCH_REDIS and NEWSSTAND_BENCH_DB."""

from __future__ import annotations

import functools
import os
import sqlite3

from celery import Celery

app = Celery(
    "newsstand",
    broker=os.environ.get("NEWSSTAND_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("NEWSSTAND_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

@functools.cache
def _connection() -> sqlite3.Connection:
    """One connection per worker process, opened on its first task (as the billing worker does)."""
    return sqlite3.connect(os.environ.get("NEWSSTAND_BENCH_DB", "newsstand.db"))


@app.task
def create_total_payables_year_celery(billing_date: str) -> dict:
    """The sum of the payables of billing_date's year up to and including it, in currency units:
    the same SQL sum the billing worker runs."""
    (cents,) = (
        _connection()
        .execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payables WHERE billing_date BETWEEN ? AND ?",
            (billing_date[:4] + "-01-01", billing_date),
        )
        .fetchone()
    )
    return {"billing_date": billing_date, "total": round(cents / 100, 2)}
