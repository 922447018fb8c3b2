"""Request/reply over the private reply inbox."""

from __future__ import annotations

import asyncio
import collections

import paperboy
import pytest

from conftest import Daemon, deadline


async def serve(pb: paperboy.Client, sub: paperboy.Subscription, name: bytes, served: collections.Counter) -> None:
    async for msg in sub:
        served[name] += 1
        await pb.reply(msg, b"answer:" + msg.payload + b":" + name)


@deadline(60)
async def test_a_thousand_concurrent_requests_over_three_responders(daemon: Daemon) -> None:
    served: collections.Counter[bytes] = collections.Counter()
    responders = [await paperboy.connect("127.0.0.1", daemon.port, name=f"responder-{i}") for i in range(3)]
    tasks = []
    for i, pb in enumerate(responders):
        sub = await pb.subscribe("/queue/payables")
        tasks.append(asyncio.create_task(serve(pb, sub, b"r%d" % i, served)))
    try:
        async with await paperboy.connect("127.0.0.1", daemon.port, name="requester") as pb:
            answers = await asyncio.gather(
                *(pb.request("/queue/payables", b"%d" % i, timeout=30) for i in range(1000))
            )
            for i, answer in enumerate(answers):
                prefix, body, _ = answer.payload.split(b":")
                assert (prefix, body) == (b"answer", b"%d" % i)
            assert sum(served.values()) == 1000
            assert len(served) == 3, served  # the queue spread them over every responder
    finally:
        for t in tasks:
            t.cancel()
        for pb in responders:
            await pb.close()


@deadline(60)
async def test_no_responders_raises_no_responders(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        with pytest.raises(paperboy.NoResponders) as raised:
            await pb.request("/queue/nobody-home", b"?", timeout=10)
        assert raised.value.code == 11


@deadline(60)
async def test_unanswered_request_times_out(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        await pb.subscribe("/queue/deaf")
        with pytest.raises(paperboy.Timeout):
            await pb.request("/queue/deaf", b"?", timeout=0.3)


@deadline(60)
async def test_oversized_payloads_are_refused_before_they_cost_the_connection(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory("--max-payload", "1000")
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        assert pb.max_payload == 1000
        sub = await pb.subscribe("/queue/big")
        for attempt in (pb.publish("/queue/big", b"x" * 1001), pb.request("/queue/big", b"x" * 1001)):
            with pytest.raises(paperboy.Error) as refused:
                await attempt
            assert refused.value.code == 2
        await pb.publish("/queue/big", b"x" * 1000, confirm=True)
        assert len((await sub.next_msg(20)).payload) == 1000 and pb.is_connected
