"""Billing through the workers: payables by request/reply and billing-sheet jobs."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from conftest import Newsstand, assert_payables, http, payables_cents, until

YEAR = 2026


def spread_dates(count: int) -> list[str]:
    """``count`` dates across the year, its first and last day included."""
    first = datetime.date(YEAR, 1, 1)
    return [(first + datetime.timedelta(days=round(i * 364 / (count - 1)))).isoformat()
            for i in range(count)]


async def total_payable(client, billing_date: str):  # type: ignore[no-untyped-def]
    return await client.post("/billing/total/payable", params={"billing_date": billing_date})


async def test_payables_equal_the_sql_sum_for_20_dates(newsstand: Newsstand) -> None:
    dates = spread_dates(20)
    async with http(newsstand) as client:
        responses = [await total_payable(client, billing_date) for billing_date in dates]
    assert_payables(newsstand, dates, responses)


@pytest.mark.deadline(90)
async def test_200_concurrent_requests_with_two_workers_all_answered(newsstand: Newsstand) -> None:
    dates = spread_dates(200)
    async with http(newsstand, connections=200) as client:
        responses = await asyncio.gather(*(total_payable(client, d) for d in dates))
    assert_payables(newsstand, dates, responses)


@pytest.mark.deadline(30)
async def test_a_bad_date_is_422(newsstand: Newsstand) -> None:
    async with http(newsstand) as client:
        for bad in ("2026-02-30", "yesterday", "2026-13-01", ""):
            assert (await total_payable(client, bad)).status_code == 422, bad
        assert (await client.post("/billing/total/payable")).status_code == 422
        assert (await client.post("/billing/sheet", params={"billing_date": "2026-04-31"})).status_code == 422


async def test_a_billing_sheet_job_ends_done_with_the_days_csv(newsstand: Newsstand) -> None:
    billing_date = "2026-03-14"
    async with http(newsstand) as client:
        response = await client.post("/billing/sheet", params={"billing_date": billing_date})
        assert response.status_code == 202, response.text
        job = response.json()["job"]
        assert newsstand.query("SELECT state FROM billing_sheets WHERE job = ?", job) in (
            [("queued",)], [("done",)])
        sheet: dict = {}

        async def finished() -> bool:
            nonlocal sheet
            sheet = (await client.get(f"/billing/sheet/{job}")).json()
            return sheet["state"] != "queued"

        await until(finished, f"billing sheet {job} to finish")
        assert sheet["state"] == "done", sheet
        rows = newsstand.query(
            "SELECT v.id, v.name, p.billing_date, p.amount_cents FROM payables p"
            " JOIN vendors v ON v.id = p.vendor_id WHERE p.billing_date = ? ORDER BY v.id",
            billing_date)
        expected = ["vendor_id,vendor_name,billing_date,amount"] + [
            f"{vid},{name},{day},{cents // 100}.{cents % 100:02d}" for vid, name, day, cents in rows]
        assert sheet["csv"].splitlines() == expected
        assert (await client.get("/billing/sheet/no-such-job")).status_code == 404


def test_the_expected_payables_are_the_range_sums(newsstand: Newsstand) -> None:
    """The cumulative sums the tests compare with equal a range SUM per date."""
    dates = spread_dates(7)
    expected = payables_cents(newsstand, dates)
    for billing_date in dates:
        assert expected[billing_date] == newsstand.query(
            "SELECT SUM(amount_cents) FROM payables WHERE billing_date BETWEEN ? AND ?",
            billing_date[:4] + "-01-01", billing_date)[0][0]
