"""One round of payables jobs from concurrent requesters, run in a process of its own (so that its
threads, connections and CPU stay out of the next round's), printing one JSON line of results:
``python3 requesters.py {celery|paperboy|http} TARGET DATES_FILE JOBS REQUESTERS``.

Every job's answer is checked against the SQL sum; a wrong or missing answer counts as an error.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Awaitable, Callable

PAYABLES = "/queue/newsstand/billing/payables"
RESULT_TIMEOUT = 5.0  # the prototype's apply_async(...).get(timeout=5)


def shares(jobs: int, requesters: int) -> list[int]:
    return [jobs // requesters + (1 if n < jobs % requesters else 0) for n in range(requesters)]


def round_robin(dates: list[str]) -> Callable[[], str]:
    lock = threading.Lock()
    position = [0]

    def next_date() -> str:
        with lock:
            position[0] += 1
            return dates[position[0] % len(dates)]

    return next_date


def run_celery(amqp_redis: str, dates: list[str], expected: dict[str, float], jobs: int, requesters: int) -> dict:
    import os

    amqp, redis = amqp_redis.split(" ")
    os.environ["NEWSSTAND_BENCH_AMQP"], os.environ["NEWSSTAND_BENCH_REDIS"] = amqp, redis
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from celery_app import create_total_payables_year_celery

    next_date = round_robin(dates)
    latencies: list[float] = []
    errors = [0]

    def requester(count: int) -> None:
        mine = []
        for _ in range(count):
            billing_date = next_date()
            start = time.perf_counter()
            try:
                result = create_total_payables_year_celery.apply_async((billing_date,)).get(timeout=RESULT_TIMEOUT)
                ok = result == {"billing_date": billing_date, "total": expected[billing_date]}
            except Exception:  # noqa: BLE001 - a failed job is counted, not raised
                ok = False
            mine.append(time.perf_counter() - start)
            if not ok:
                errors[0] += 1
        latencies.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(requesters) as pool:
        list(pool.map(requester, shares(jobs, requesters)))
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "errors": errors[0]}


async def run_coroutines(ask: Callable[[str], Awaitable[bool]], dates: list[str], jobs: int, requesters: int) -> dict:
    """``requesters`` coroutines sending their share of ``jobs`` one after another with ``ask``
    (True for a right answer)."""
    next_date = round_robin(dates)
    latencies: list[float] = []
    errors = 0

    async def requester(count: int) -> None:
        nonlocal errors
        for _ in range(count):
            start = time.perf_counter()
            ok = await ask(next_date())
            latencies.append(time.perf_counter() - start)
            errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(requester(n) for n in shares(jobs, requesters)))
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "errors": errors}


async def run_paperboy(port: str, dates: list[str], expected: dict[str, float], jobs: int, requesters: int) -> dict:
    import paperboy

    client = await paperboy.connect("127.0.0.1", int(port), name="bench-requesters")

    async def ask(billing_date: str) -> bool:
        try:
            reply = await client.request(PAYABLES, json.dumps({"billing_date": billing_date}), RESULT_TIMEOUT)
        except paperboy.Error:
            return False
        return json.loads(reply.payload) == {"billing_date": billing_date, "total": expected[billing_date]}

    try:
        return await run_coroutines(ask, dates, jobs, requesters)
    finally:
        await client.close()


async def run_http(url: str, dates: list[str], expected: dict[str, float], jobs: int, requesters: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=requesters, max_keepalive_connections=requesters)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=RESULT_TIMEOUT + 5) as http:

        async def ask(billing_date: str) -> bool:
            try:
                response = await http.post("/billing/total/payable", params={"billing_date": billing_date})
            except httpx.HTTPError:
                return False
            return response.status_code == 200 and response.json() == {
                "billing_date": billing_date,
                "total": expected[billing_date],
            }

        return await run_coroutines(ask, dates, jobs, requesters)


def main() -> None:
    side, target, dates_file, jobs, requesters = sys.argv[1:6]
    spec = json.loads(Path(dates_file).read_text())
    dates, expected = spec["dates"], spec["expected"]
    if side == "celery":
        result = run_celery(target, dates, expected, int(jobs), int(requesters))
    elif side == "paperboy":
        result = asyncio.run(run_paperboy(target, dates, expected, int(jobs), int(requesters)))
    else:
        result = asyncio.run(run_http(target, dates, expected, int(jobs), int(requesters)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
