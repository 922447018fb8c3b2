"""Losing processes: no worker at all, a worker killed mid-burst, the broker killed and restarted."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Callable

import httpx
import pytest

from conftest import EventStream, Newsstand, assert_payables, http, until
from test_billing import spread_dates, total_payable

# The request waits up to 5 s for a worker; "at once" is well under that, even on a loaded box.
AT_ONCE_S = 2.5


async def test_no_worker_is_503_at_once(newsstand_factory: Callable[..., Newsstand]) -> None:
    stand = newsstand_factory(workers=0)
    async with http(stand) as client:
        for billing_date in spread_dates(3):
            started = time.monotonic()
            response = await total_payable(client, billing_date)
            assert response.status_code == 503, response.text
            assert time.monotonic() - started < AT_ONCE_S


async def test_no_answer_within_5_s_is_504(newsstand_factory: Callable[..., Newsstand]) -> None:
    stand = newsstand_factory(workers=1, worker_args=("--job-delay-ms", "8000"))
    async with http(stand) as client:
        started = time.monotonic()
        response = await total_payable(client, "2026-02-01")
        assert response.status_code == 504, response.text
        assert 4.5 < time.monotonic() - started < 5 + AT_ONCE_S
    stand.workers[0].kill()  # it would finish the held job before a SIGTERM ended it


@pytest.mark.deadline(90)
async def test_a_worker_killed_mid_burst_loses_no_request(newsstand_factory: Callable[..., Newsstand]) -> None:
    # Each job waits 50 ms, so each worker has its prefetch of requests in hand when one dies:
    # those were never acked and the broker gives them to the other worker.
    stand = newsstand_factory(workers=2, worker_args=("--job-delay-ms", "50"))
    dates = spread_dates(200)
    answered = 0
    enough_answered = asyncio.Event()

    async def counted(client: httpx.AsyncClient, billing_date: str) -> httpx.Response:
        nonlocal answered
        response = await total_payable(client, billing_date)
        answered += 1
        if answered >= 30:
            enough_answered.set()
        return response

    async with http(stand, connections=200) as client:
        burst = asyncio.gather(*(counted(client, d) for d in dates))
        await asyncio.wait_for(enough_answered.wait(), 30)
        stand.workers[0].kill()
        answered_at_kill = answered
        responses = await burst
    assert answered_at_kill < 150, "the burst was nearly over before the kill: it proves nothing"
    assert_payables(stand, dates, responses)


@pytest.mark.deadline(120)
async def test_the_app_serves_again_after_the_broker_restarts(newsstand_factory: Callable[..., Newsstand]) -> None:
    stand = newsstand_factory(workers=2)
    async with http(stand) as client:
        assert (await total_payable(client, "2026-05-01")).status_code == 200

        stand.broker.kill()

        async def app_disconnected() -> bool:
            return (await client.get("/healthz")).status_code == 503

        await until(app_disconnected, "the app to notice the broker is gone")
        assert (await total_payable(client, "2026-05-01")).status_code == 503

        stand.start_broker()  # the same port

        async def answered() -> bool:
            return (await total_payable(client, "2026-05-02")).status_code == 200

        await until(answered, "a payables request to succeed after the restart", timeout=60)
        dates = spread_dates(20)
        assert_payables(stand, dates, [await total_payable(client, d) for d in dates])

        # The app's own subscriptions came back too: the messenger feed and its store.
        record_id = f"after-restart-{uuid.uuid4().hex}"
        async with EventStream(client, "/messenger/sse") as feed:
            response = await client.post("/messenger/send", json={"record_id": record_id, "messenger_id": 1})
            assert response.status_code == 201, response.text
            assert (await feed.next())["record_id"] == record_id

        async def stored() -> bool:
            return bool(stand.query("SELECT 1 FROM messenger_records WHERE record_id = ?", record_id))

        await until(stored, "the record to be stored after the restart")
