"""The billing worker end to end: real paperboyd, real billing-worker processes, the Python client."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import paperboy
import pytest
from conftest import PAYABLES, SHEETS, SHEETS_TOPIC, Daemon, deadline, direct_total, until

# Dates whose totals cover: the first and last day of a year, a leap day, a day with several
# rows, a year without rows up to the date, and a year with none at all.
DATES = {
    "2023-12-31": Decimal("700.00"),
    "2024-01-01": Decimal("13.33"),
    "2024-02-28": Decimal("13.33"),
    "2024-02-29": Decimal("5013.33"),
    "2024-06-14": Decimal("5013.33"),
    "2024-06-15": Decimal("7637.39"),
    "2024-12-31": Decimal("7637.46"),
    "2025-01-01": Decimal("3.33"),
    "2025-02-28": Decimal("3.33"),
    "2025-03-01": Decimal("4.33"),
    "2026-07-01": Decimal("0.00"),
}


def parse_reply(payload: bytes) -> dict:
    return json.loads(payload, parse_float=Decimal)


async def connect(daemon: Daemon) -> paperboy.Client:
    return await paperboy.connect("127.0.0.1", daemon.port, name="billing-test")


async def ask_total(client: paperboy.Client, billing_date: str, timeout: float = 30.0) -> dict:
    reply = await client.request(PAYABLES, json.dumps({"billing_date": billing_date}), timeout)
    return parse_reply(reply.payload)


@deadline(60)
async def test_payables_totals_equal_the_sql_sum_across_year_boundaries(daemon, db, worker_factory):
    worker_factory()
    async with await connect(daemon) as client:
        for billing_date, expected in DATES.items():
            reply = await ask_total(client, billing_date)
            assert reply == {"billing_date": billing_date, "total": expected}
            assert expected == direct_total(db, billing_date)
        raw = await client.request(PAYABLES, '{"billing_date": "2024-06-15"}', 30.0)
        assert raw.payload == b'{"billing_date": "2024-06-15", "total": 7637.39}'


@deadline(90)
async def test_a_bad_request_gets_an_error_reply_and_is_not_redelivered(daemon, worker_factory):
    worker = worker_factory("--prefetch", "2")
    bad_requests = [
        b"not json",
        b"{}",
        b'{"billing_date": "2025-02-30"}',
        b'{"billing_date": "2023-02-29"}',
        b'{"billing_date": "2025-13-01"}',
        b'{"billing_date": "25-01-01"}',
        b'{"billing_date": 20250101}',
        b'{"billing_date": "2025-01-01"',
        b'{"billing_date": "2025-01-01"} trailing',
        b'{"billing_date": {"nested": "2025-01-01"}}',
        b"\xff\xfe",
    ]
    replies: list[paperboy.Message] = []
    async with await connect(daemon) as client:
        inbox = await client.subscribe("/topic/billing-test/replies")
        for request in bad_requests:
            await client.publish(PAYABLES, request, reply_to="/topic/billing-test/replies", confirm=True)
        async for reply in inbox:
            replies.append(reply)
            if len(replies) == len(bad_requests):
                break
        for reply in replies:
            assert set(parse_reply(reply.payload)) == {"error"}, reply.payload

        # A drain ends only once every delivery in hand was acked.
        assert await asyncio.to_thread(worker.terminate) == 0
        # Anything nacked or left unacked would be back in the queue ahead of this probe.
        probe = await client.subscribe(PAYABLES, manual_ack=True, prefetch=1)
        await client.publish(PAYABLES, b'{"probe": "1"}', confirm=True)
        first = await asyncio.wait_for(probe.__anext__(), 30)
        assert first.payload == b'{"probe": "1"}' and not first.redelivered
        await first.ack()
    assert len(replies) == len(bad_requests)


@deadline(120)
async def test_200_concurrent_requests_over_two_workers_are_all_answered(daemon, db, worker_factory):
    workers = [worker_factory("--log-level", "debug") for _ in range(2)]
    dates = random.Random(11).choices(list(DATES), k=200)
    async with await connect(daemon) as client:
        replies = await asyncio.gather(*(ask_total(client, d, 60.0) for d in dates))
    for billing_date, reply in zip(dates, replies):
        assert reply == {"billing_date": billing_date, "total": DATES[billing_date]}
    taken = [worker.log().count("job.received") for worker in workers]
    assert sum(taken) == 200 and all(taken), taken


@deadline(120)
async def test_a_worker_killed_mid_burst_leaves_its_requests_to_the_other(daemon, worker_factory):
    # The victim holds its jobs far longer than the test lasts: each one it took must be
    # redelivered to the survivor for the burst to be answered.
    victim = worker_factory("--prefetch", "8", "--job-delay-ms", "600000", "--log-level", "debug")
    async with await connect(daemon) as client:
        dates = random.Random(7).choices(list(DATES), k=40)
        burst = [asyncio.ensure_future(ask_total(client, d, 90.0)) for d in dates]
        await asyncio.to_thread(victim.wait_for_log, r"job\.received", 8)
        survivor = worker_factory("--prefetch", "4", "--job-delay-ms", "20", "--log-level", "debug")
        victim.kill()
        replies = await asyncio.gather(*burst)
        for billing_date, reply in zip(dates, replies):
            assert reply == {"billing_date": billing_date, "total": DATES[billing_date]}
    # Each request was sent once: the 8 the victim held reached the survivor as redeliveries.
    assert survivor.log().count("redelivered=true") == 8
    assert survivor.log().count("job.received") == 40


@deadline(90)
async def test_a_billing_sheet_job_writes_the_csv_and_announces_it(daemon, db, worker_factory):
    worker_factory()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO billing_sheets (job, billing_date, state, updated_at) "
            "VALUES ('job-1', '2024-06-15', 'queued', '2024-06-15T00:00:00Z')"
        )
    async with await connect(daemon) as client:
        done = await client.subscribe(SHEETS_TOPIC)
        jobs = [
            {"job": "job-1", "billing_date": "2024-06-15"},
            {"job": "job-2", "billing_date": "2024-02-29"},  # no row yet: the worker makes it
            {"job": "job-3", "billing_date": "2024-02-30"},
        ]
        for job in jobs:
            await client.publish(SHEETS, json.dumps(job), confirm=True)
        events = []
        async for event in done:
            events.append(json.loads(event.payload))
            if len(events) == len(jobs):
                break
    assert sorted(events, key=lambda e: e["job"]) == [
        {"job": "job-1", "state": "done"},
        {"job": "job-2", "state": "done"},
        {"job": "job-3", "state": "failed"},
    ]
    with sqlite3.connect(db) as conn:
        rows = {r[0]: r[1:] for r in conn.execute("SELECT job, state, csv, error FROM billing_sheets")}
    assert rows["job-1"] == (
        "done",
        "vendor_id,vendor_name,billing_date,amount\n"
        "1,Corner Kiosk,2024-06-15,123.45\n"
        '2,"Station ""Rail"" News",2024-06-15,0.11\n'
        '3,"Kiosk, North",2024-06-15,2500.50\n',
        None,
    )
    assert rows["job-2"] == (
        "done",
        "vendor_id,vendor_name,billing_date,amount\n" '3,"Kiosk, North",2024-02-29,5000.00\n',
        None,
    )
    assert rows["job-3"][0] == "failed" and "2024-02-30" in rows["job-3"][2]


@deadline(120)
async def test_the_worker_outlives_a_broker_restart(daemon, worker_factory):
    worker = worker_factory()
    daemon.stop()
    await asyncio.to_thread(worker.wait_for_log, r"connection\.lost")
    await asyncio.to_thread(daemon.start)
    await asyncio.to_thread(worker.wait_for_log, r"connection\.restored")
    async with await connect(daemon) as client:
        reply = await ask_total(client, "2024-12-31")
    assert reply == {"billing_date": "2024-12-31", "total": DATES["2024-12-31"]}
    assert await asyncio.to_thread(worker.terminate) == 0
