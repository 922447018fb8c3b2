"""drain() loses nothing; a subscription the application does not keep up with stays bounded."""

from __future__ import annotations

import asyncio

import paperboy
from paperboy.message import MESSAGE_OVERHEAD

from conftest import Daemon, deadline, until


@deadline(60)
async def test_drain_of_a_publisher_delivers_everything_it_published(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as consumer:
        sub = await consumer.subscribe("/queue/drained")
        producer = await paperboy.connect("127.0.0.1", daemon.port)
        for i in range(5000):
            await producer.publish("/queue/drained", b"%d" % i)
        confirmed = asyncio.create_task(producer.publish("/queue/drained", b"last", confirm=True))
        await asyncio.sleep(0)
        await producer.drain()
        assert producer.is_closed and confirmed.done() and confirmed.exception() is None
        got = [(await sub.next_msg(20)).payload for _ in range(5001)]
        assert got == [b"%d" % i for i in range(5000)] + [b"last"]


@deadline(60)
async def test_drain_of_consumers_hands_over_the_rest_without_loss_or_duplicates(daemon: Daemon) -> None:
    total = 400
    async with await paperboy.connect("127.0.0.1", daemon.port) as producer:
        for i in range(total):
            await producer.publish("/queue/auto", b"%d" % i)
            await producer.publish("/queue/manual", b"%d" % i)
        await producer.flush()

    first = await paperboy.connect("127.0.0.1", daemon.port)
    auto = await first.subscribe("/queue/auto")
    manual = await first.subscribe("/queue/manual", manual_ack=True, prefetch=20)
    handled: dict[str, list[int]] = {"auto": [], "manual": []}
    holding = asyncio.Event()
    release = asyncio.Event()

    async def handle_auto() -> None:
        async for msg in auto:
            handled["auto"].append(int(msg.payload))
            await asyncio.sleep(0)

    async def handle_manual() -> None:
        async for msg in manual:
            if len(handled["manual"]) == 10:
                holding.set()
                await release.wait()  # drain starts while this one is held, unacked
            handled["manual"].append(int(msg.payload))
            await msg.ack()

    workers = [asyncio.create_task(handle_auto()), asyncio.create_task(handle_manual())]
    await asyncio.wait_for(holding.wait(), 20)
    drained = asyncio.create_task(first.drain())
    await until(lambda: manual._holding, "drain to stop handing out manual-ack messages")
    release.set()
    await asyncio.wait_for(drained, 30)
    await asyncio.wait_for(asyncio.gather(*workers), 20)  # both iterations ended
    # The held message was finished and acked; nothing more was handed out after drain began.
    assert len(handled["manual"]) == 11 and len(handled["auto"]) >= 1

    async with await paperboy.connect("127.0.0.1", daemon.port) as second:
        for kind in ("auto", "manual"):
            sub = await second.subscribe(f"/queue/{kind}")
            rest = [int((await sub.next_msg(20)).payload) for _ in range(total - len(handled[kind]))]
            everything = handled[kind] + rest
            assert sorted(everything) == list(range(total)), kind  # nothing lost, nothing twice
            await second.flush()
            assert sub.pending == 0


@deadline(60)
async def test_slow_subscriber_stays_bounded_and_the_broker_reports_gaps(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory("--client-queue-bytes", "65536")
    published = 20_000
    bound = 200
    gaps: list[int] = []
    async with await paperboy.connect("127.0.0.1", daemon.port, name="slow") as slow, await paperboy.connect(
        "127.0.0.1", daemon.port, name="fast"
    ) as producer:
        sub = await slow.subscribe(
            "/topic/firehose", max_pending_messages=bound, on_gap=lambda channel, n: gaps.append(n)
        )
        most = 0
        for i in range(published):
            await producer.publish("/topic/firehose", b"%07d" % i + b"." * 121)
            if i % 500 == 0:
                await asyncio.sleep(0)  # let the subscriber's client read (it must stop at the bound)
                most = max(most, sub.pending)
        await producer.flush()
        most = max(most, sub.pending)
        assert most <= bound, most
        # The application catches up: what it receives plus what GAPs reported is everything.
        received = []
        while len(received) + sub.dropped < published:
            msg = await sub.next_msg(20)
            received.append(int(msg.payload[:7]))
            most = max(most, sub.pending)
        assert most <= bound
        assert sub.dropped > 0 and sum(gaps) == sub.dropped
        assert received == sorted(received) and len(set(received)) == len(received)
        assert len(received) + sub.dropped == published
        # The producer was never slowed to the subscriber's pace, and the client still works.
        await producer.publish("/topic/firehose", b"%07d" % published + b"!", confirm=True)
        assert int((await sub.next_msg(20)).payload[:7]) == published


@deadline(60)
async def test_a_queue_consumer_that_does_not_keep_up_stays_bounded_and_loses_nothing(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory("--client-queue-bytes", "16384")
    published, bound = 5000, 50
    async with await paperboy.connect("127.0.0.1", daemon.port) as stuck, await paperboy.connect(
        "127.0.0.1", daemon.port
    ) as busy:
        held = await stuck.subscribe("/queue/jobs", max_pending_messages=bound)
        taken = await busy.subscribe("/queue/jobs")
        got: list[int] = []
        most = 0

        async def consume(sub: paperboy.Subscription) -> None:
            nonlocal most
            async for msg in sub:
                got.append(int(msg.payload[:6]))
                most = max(most, held.pending)

        busy_worker = asyncio.create_task(consume(taken))
        for i in range(published):
            await busy.publish("/queue/jobs", b"%06d" % i + b"." * 122)
            if i % 250 == 0:
                await asyncio.sleep(0)
                most = max(most, held.pending)
        await busy.flush()
        await until(lambda: held.pending == bound, "the stuck consumer to fill up")
        most = max(most, held.pending)
        stuck_worker = asyncio.create_task(consume(held))  # the stuck consumer catches up
        await until(lambda: len(got) >= published, "every message to be consumed")
        busy_worker.cancel()
        stuck_worker.cancel()
        assert most <= bound
        assert sorted(got) == list(range(published))


@deadline(60)
async def test_drain_lets_handlers_finish_and_hands_the_rest_over(daemon: Daemon) -> None:
    total = 300
    async with await paperboy.connect("127.0.0.1", daemon.port) as producer:
        for i in range(total):
            await producer.publish("/queue/handled-auto", b"%d" % i)
            await producer.publish("/queue/handled-manual", b"%d" % i)
        await producer.flush()
    handled: dict[str, list[int]] = {"auto": [], "manual": []}
    started = asyncio.Event()

    def handler_for(kind: str):  # type: ignore[no-untyped-def]
        async def handle(msg: paperboy.Message) -> None:
            started.set()
            await asyncio.sleep(0.001)  # a handler that takes its time
            handled[kind].append(int(msg.payload))
            await msg.ack()
        return handle

    first = await paperboy.connect("127.0.0.1", daemon.port)
    await first.subscribe("/queue/handled-auto", handler=handler_for("auto"), max_pending_messages=20)
    await first.subscribe("/queue/handled-manual", manual_ack=True, prefetch=10, handler=handler_for("manual"))
    await asyncio.wait_for(started.wait(), 20)
    await first.drain()
    done = {kind: len(items) for kind, items in handled.items()}
    async with await paperboy.connect("127.0.0.1", daemon.port) as second:
        for kind in ("auto", "manual"):
            sub = await second.subscribe(f"/queue/handled-{kind}")
            rest = [int((await sub.next_msg(20)).payload) for _ in range(total - done[kind])]
            assert sorted(handled[kind] + rest) == list(range(total)), kind
    assert {kind: len(items) for kind, items in handled.items()} == done  # nothing ran after drain


@deadline(60)
async def test_unsubscribe_of_a_paused_auto_ack_consumer_loses_nothing(daemon: Daemon) -> None:
    # What the broker wrote before it processed the UNSUB is this consumer's (auto-ack): the
    # client must keep it, including what it had read but not parsed while paused.
    total = 2000
    async with await paperboy.connect("127.0.0.1", daemon.port) as first, await paperboy.connect(
        "127.0.0.1", daemon.port
    ) as second:
        sub = await first.subscribe("/queue/leaving", max_pending_messages=5)
        for i in range(total):
            await second.publish("/queue/leaving", b"%d" % i)
        await second.flush()
        await until(lambda: sub.pending == 5, "the consumer to stop reading at its bound")
        await asyncio.wait_for(sub.unsubscribe(), 20)
        kept = [int(msg.payload) async for msg in sub]
        assert len(kept) >= 5
        rest_sub = await second.subscribe("/queue/leaving")
        rest = [int((await rest_sub.next_msg(20)).payload) for _ in range(total - len(kept))]
        assert sorted(kept + rest) == list(range(total))


@deadline(60)
async def test_the_byte_bound_holds_too(daemon: Daemon) -> None:
    bound = 10_000
    async with await paperboy.connect("127.0.0.1", daemon.port) as slow, await paperboy.connect(
        "127.0.0.1", daemon.port
    ) as producer:
        sub = await slow.subscribe("/queue/bytes", max_pending_bytes=bound)
        for i in range(2000):
            await producer.publish("/queue/bytes", b"%06d" % i + b"." * 122)
        await producer.flush()
        # What one held message costs: its payload, its channel and the object around them.
        held = 128 + len("/queue/bytes") + MESSAGE_OVERHEAD
        await until(lambda: sub.pending_bytes + held > bound, "the subscription to fill to its byte bound")
        assert sub.pending_bytes <= bound and sub.pending == bound // held
        got = [int((await sub.next_msg(20)).payload[:6]) for _ in range(2000)]
        assert got == list(range(2000))
