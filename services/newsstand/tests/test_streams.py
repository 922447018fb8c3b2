"""The app's streams: the messenger feed and its store, the Rx totals, the sales quota, the
event and customer WebSockets."""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import uuid
from typing import Any

import paperboy
import pytest
import websockets

from conftest import EventStream, Newsstand, http, until


def subscription_total(stand: Newsstand) -> float:
    return round(stand.query("SELECT SUM(price_cents * qty) FROM subscriptions")[0][0] / 100, 2)


async def test_100_messenger_records_reach_an_sse_client_in_order_and_are_stored_once(
        newsstand: Newsstand) -> None:
    run = uuid.uuid4().hex
    record_ids = [f"{run}-{i}" for i in range(100)]
    async with http(newsstand) as client, EventStream(client, "/messenger/sse") as feed:
        for i, record_id in enumerate(record_ids):
            record = {"record_id": record_id, "messenger_id": 1 + i % 7, "status": "delivered"}
            response = await client.post("/messenger/send", json=record)
            assert response.status_code == 201, response.text
            assert response.json() == {"record_id": record_id}
        received = [await feed.next() for _ in record_ids]
        assert [r["record_id"] for r in received] == record_ids
        assert received[3] == {"record_id": record_ids[3], "messenger_id": 4, "status": "delivered"}

        def stored(prefix: str) -> list[tuple[Any, ...]]:
            return newsstand.query(
                "SELECT record_id, messenger_id, body FROM messenger_records WHERE record_id LIKE ?",
                prefix + "%")

        async def all_stored() -> bool:
            return len(stored(run)) >= 100

        await until(all_stored, "the 100 records to be stored")
        rows = stored(run)
        assert sorted(r[0] for r in rows) == sorted(record_ids)
        assert json.loads(dict((r[0], r[2]) for r in rows)[record_ids[5]])["messenger_id"] == 6

        # The same record_id again is not stored twice; a new record after it shows the store
        # got past it (one consumer, in order).
        again = await client.post("/messenger/send", json={"record_id": record_ids[0], "messenger_id": 9})
        assert again.status_code == 201
        sentinel = f"{run}-sentinel"
        assert (await client.post("/messenger/send", json={"record_id": sentinel, "messenger_id": 2})).status_code == 201

        async def sentinel_stored() -> bool:
            return bool(stored(sentinel))

        await until(sentinel_stored, "the sentinel record to be stored")
        assert len(stored(run)) == 101
        assert [r[1] for r in stored(record_ids[0])] == [1]

        # A record without an id gets one; a record without a messenger is refused.
        anonymous = await client.post("/messenger/send", json={"messenger_id": 3})
        assert anonymous.status_code == 201 and anonymous.json()["record_id"]
        assert (await client.post("/messenger/send", json={"status": "lost"})).status_code == 422


async def test_totals_arrive_over_sse_and_follow_a_changed_subscription(newsstand: Newsstand) -> None:
    expected = subscription_total(newsstand)
    async with http(newsstand) as client, EventStream(client, "/subscriptions/totals/sse") as totals:
        seen = [await totals.next() for _ in range(3)]
        assert [t["total"] for t in seen] == [expected] * 3
        assert all(t["subscriptions"] == 3000 for t in seen)
        assert len({t["at"] for t in seen}) == 3

        price, qty = newsstand.query("SELECT price_cents, qty FROM subscriptions WHERE id = 1")[0]
        newsstand.query("UPDATE subscriptions SET qty = qty + 5 WHERE id = 1")
        changed_at = datetime.datetime.now(datetime.timezone.utc)
        try:
            # The first total computed after the change (its `at` is taken before its query).
            while datetime.datetime.fromisoformat((total := await totals.next())["at"]) <= changed_at:
                pass
            assert total["total"] == round(expected + price * 5 / 100, 2)
            assert total["total"] == subscription_total(newsstand)
        finally:
            newsstand.query("UPDATE subscriptions SET qty = ? WHERE id = 1", qty)


async def test_the_sales_quota_publishes_the_right_buy_instructions(newsstand: Newsstand) -> None:
    quota = 0.85
    expected = []
    for publication, issued, sold in newsstand.query(
            "SELECT publication, SUM(copies_issued), SUM(copies_sold) FROM sales"
            " GROUP BY publication ORDER BY publication"):
        if sold / issued > quota:
            expected.append({"publication": publication, "copies_issued": issued,
                             "copies_sold": sold, "sold_ratio": round(sold / issued, 4),
                             "quota": quota, "buy_copies": math.ceil(sold / quota) - issued})
    publications = newsstand.query("SELECT COUNT(DISTINCT publication) FROM sales")[0][0]
    assert 0 < len(expected) < publications, "the data should have publications on both sides"

    async with await paperboy.connect("127.0.0.1", newsstand.broker_port) as pb:
        sub = await pb.subscribe("/topic/newsstand/sales/quota")
        async with http(newsstand) as client:
            response = await client.get("/sales/list/quota", params={"quota": quota})
        assert response.status_code == 200, response.text
        assert response.json() == {"quota": quota, "instructions": expected}
        published = [json.loads((await sub.next_msg(20)).payload) for _ in expected]
        assert published == expected
        async with http(newsstand) as client:
            assert (await client.get("/sales/list/quota", params={"quota": 1.5})).status_code == 422


async def test_ws_events_gets_messenger_and_totals_events(newsstand: Newsstand) -> None:
    record_id = f"ws-{uuid.uuid4().hex}"
    async with websockets.connect(f"{newsstand.ws_url}/ws/events") as ws:
        async with http(newsstand) as client:
            response = await client.post("/messenger/send", json={"record_id": record_id, "messenger_id": 5})
            assert response.status_code == 201
        got_record = got_total = False
        while not (got_record and got_total):
            event = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert set(event) == {"channel", "payload"}
            if event["channel"] == "/topic/newsstand/messenger" and event["payload"]["record_id"] == record_id:
                assert event["payload"]["messenger_id"] == 5
                got_record = True
            elif event["channel"] == "/topic/newsstand/totals":
                assert event["payload"]["subscriptions"] == 3000
                got_total = True


async def test_the_customer_list_streams_page_by_page_on_acks(newsstand: Newsstand) -> None:
    customers: list[dict[str, Any]] = []
    async with websockets.connect(f"{newsstand.ws_url}/customer/list/ws?page_size=300") as ws:
        while True:
            page = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert page["page"] == len(customers) // 300
            customers += page["customers"]
            await ws.send(json.dumps({"ack": page["page"]}))
            if page["last"]:
                break
        await asyncio.wait_for(ws.wait_closed(), 20)
        assert ws.close_code == 1000
    expected = newsstand.query("SELECT id, name, email, address FROM customers ORDER BY id")
    assert [(c["id"], c["name"], c["email"], c["address"]) for c in customers] == expected

    async with websockets.connect(f"{newsstand.ws_url}/customer/list/ws") as ws:
        await asyncio.wait_for(ws.recv(), 20)
        await ws.send(json.dumps({"ack": 7}))  # not the page it was sent
        await asyncio.wait_for(ws.wait_closed(), 20)
        assert ws.close_code == 1008


@pytest.mark.deadline(30)
async def test_healthz_and_the_dashboard(newsstand: Newsstand) -> None:
    async with http(newsstand) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"broker": "connected", "servers": [f"127.0.0.1:{newsstand.broker_port}"]}
        page = await client.get("/")
        assert page.status_code == 200 and "<title>Newsstand" in page.text
        script = await client.get("/static/dashboard.js")
        assert script.status_code == 200 and "EventSource" in script.text
        assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
