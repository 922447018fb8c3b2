"""Reconnect: the broker dies (SIGKILL, SIGTERM) and comes back on the same port; the clients
resubscribe and deliver what was published meanwhile without the application doing anything."""

from __future__ import annotations

import asyncio
import signal

import paperboy
import pytest

from conftest import Daemon, Events, deadline, until

FAST = {"reconnect_initial_delay": 0.05, "reconnect_max_delay": 0.3}


async def take(sub: paperboy.Subscription, count: int, timeout: float = 20.0) -> list[bytes]:
    return [(await sub.next_msg(timeout)).payload for _ in range(count)]


@deadline(60)
async def test_sigkill_restart_resubscribes_and_delivers_offline_publishes_in_order(daemon: Daemon) -> None:
    sub_events, pub_events = Events(), Events()
    consumer = await paperboy.connect("127.0.0.1", daemon.port, name="consumer", **FAST, **sub_events.options())
    producer = await paperboy.connect("127.0.0.1", daemon.port, name="producer", **FAST, **pub_events.options())
    async with consumer, producer:
        jobs = await consumer.subscribe("/queue/orders")
        news = await consumer.subscribe("/topic/news")
        for i in range(50):
            await producer.publish("/queue/orders", b"before-%d" % i)
        assert await take(jobs, 50) == [b"before-%d" % i for i in range(50)]

        daemon.kill()
        await asyncio.wait_for(sub_events.disconnected.wait(), 20)
        await asyncio.wait_for(pub_events.disconnected.wait(), 20)
        assert not producer.is_connected
        for i in range(300):
            await producer.publish("/queue/orders", b"offline-%d" % i)
        confirmed = asyncio.create_task(producer.publish("/queue/orders", b"confirmed", confirm=True))
        await asyncio.sleep(0)  # let it start: it must be waiting, not done, while nothing listens
        assert not confirmed.done(), "a publish was confirmed while the broker was down"
        assert producer.offline_buffered_bytes > 300 * 8

        daemon.restart()
        await asyncio.wait_for(sub_events.reconnected.wait(), 20)
        await asyncio.wait_for(pub_events.reconnected.wait(), 20)
        await asyncio.wait_for(confirmed, 20)
        assert await take(jobs, 301) == [b"offline-%d" % i for i in range(300)] + [b"confirmed"]
        assert producer.offline_buffered_bytes == 0

        # The topic subscription was made again too.
        await producer.publish("/topic/news", b"after", confirm=True)
        assert (await news.next_msg(20)).payload == b"after"
        assert sub_events.disconnects == 1 and sub_events.reconnects == 1


def written(pb: paperboy.Client) -> bool:
    """The client has handed everything it queued to the kernel: a PUB is in flight, not unsent."""
    transport = pb._transport  # noqa: SLF001 (the test needs the socket's state, not an API)
    return not pb._out and transport is not None and transport.get_write_buffer_size() == 0


@deadline(60)
async def test_confirmed_publish_in_flight_at_sigkill_is_sent_again_after_reconnect(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect("127.0.0.1", daemon.port, **FAST, **events.options()) as pb:
        await pb.flush()
        daemon.signal(signal.SIGSTOP)  # the PUB is written but never answered
        confirmed = asyncio.create_task(pb.publish("/queue/inflight", b"once", confirm=True))
        await until(lambda: written(pb), "the PUB handed to the socket")
        assert not confirmed.done()
        daemon.kill()
        await asyncio.wait_for(events.disconnected.wait(), 20)
        assert not confirmed.done(), "confirmed although the broker never said OK"
        daemon.restart()
        await asyncio.wait_for(confirmed, 20)
        sub = await pb.subscribe("/queue/inflight")
        assert (await sub.next_msg(20)).payload == b"once"


@deadline(60)
async def test_resend_unconfirmed_false_fails_the_confirm_with_connection_lost(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", daemon.port, resend_unconfirmed=False, **FAST, **events.options()
    ) as pb:
        await pb.flush()
        daemon.signal(signal.SIGSTOP)
        confirmed = asyncio.create_task(pb.publish("/queue/inflight", b"once", confirm=True))
        await until(lambda: written(pb), "the PUB handed to the socket")
        daemon.kill()
        with pytest.raises(paperboy.ConnectionLost):
            await asyncio.wait_for(confirmed, 20)
        daemon.restart()
        await asyncio.wait_for(events.reconnected.wait(), 20)
        # Not sent again: the queue is empty, and a later publish reaches a consumer first.
        sub = await pb.subscribe("/queue/inflight")
        await pb.publish("/queue/inflight", b"later", confirm=True)
        assert (await sub.next_msg(20)).payload == b"later"


@deadline(60)
async def test_sigterm_restart_reconnects_and_resubscribes(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect("127.0.0.1", daemon.port, **FAST, **events.options()) as pb:
        sub = await pb.subscribe("/topic/alerts/>")
        await pb.publish("/topic/alerts/a", b"one", confirm=True)
        assert (await sub.next_msg(20)).payload == b"one"
        daemon.terminate()
        await asyncio.wait_for(events.disconnected.wait(), 20)
        daemon.restart()
        await asyncio.wait_for(events.reconnected.wait(), 20)
        await pb.publish("/topic/alerts/b", b"two", confirm=True)
        msg = await sub.next_msg(20)
        assert (msg.channel, msg.payload) == ("/topic/alerts/b", b"two")


@deadline(60)
async def test_requests_in_flight_fail_with_connection_lost(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect("127.0.0.1", daemon.port, **FAST, **events.options()) as pb:
        await pb.subscribe("/queue/silent")  # a responder that never answers
        pending = asyncio.create_task(pb.request("/queue/silent", b"?", timeout=30))
        await pb.flush()
        daemon.kill()
        with pytest.raises(paperboy.ConnectionLost):
            await pending
        with pytest.raises(paperboy.ConnectionLost):
            await pb.request("/queue/silent", b"?", timeout=1)


@deadline(60)
async def test_gives_up_after_max_attempts(daemon: Daemon) -> None:
    events = Events()
    pb = await paperboy.connect(
        "127.0.0.1", daemon.port, max_reconnect_attempts=3, **FAST, **events.options()
    )
    sub = await pb.subscribe("/topic/x")
    daemon.kill()
    await asyncio.wait_for(events.gave_up.wait(), 20)
    with pytest.raises(paperboy.ConnectionLost):
        await sub.next_msg(5)
    with pytest.raises(paperboy.ConnectionLost):
        await pb.publish("/topic/x", b"late")
    await pb.close()


@deadline(60)
async def test_second_server_is_used_when_the_first_is_gone(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    first, second = daemon_factory(), daemon_factory()
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", first.port, servers=[f"127.0.0.1:{second.port}"], **FAST, **events.options()
    ) as pb:
        sub = await pb.subscribe("/topic/where")
        first.kill()
        await asyncio.wait_for(events.reconnected.wait(), 20)
        await pb.publish("/topic/where", b"second", confirm=True)
        assert (await sub.next_msg(20)).payload == b"second"


@deadline(60)
async def test_connect_to_nothing_raises_connection_lost(daemon: Daemon) -> None:
    port = daemon.port
    daemon.kill()  # the port is free now: nothing listens there
    with pytest.raises(paperboy.ConnectionLost):
        await paperboy.connect("127.0.0.1", port, connect_timeout=5.0)


@deadline(60)
async def test_subscriptions_are_made_again_before_the_offline_publishes_are_sent(daemon: Daemon) -> None:
    # A topic drops what finds no subscriber: the client hears its own offline publishes only if
    # its SUBs reach the new broker before them.
    events = Events()
    async with await paperboy.connect("127.0.0.1", daemon.port, **FAST, **events.options()) as pb:
        first = await pb.subscribe("/topic/self/a")
        second = await pb.subscribe("/topic/self/>", manual_ack=True, prefetch=5)
        daemon.kill()
        await asyncio.wait_for(events.disconnected.wait(), 20)
        for i in range(20):
            await pb.publish("/topic/self/a", b"%d" % i)
        daemon.restart()
        await asyncio.wait_for(events.reconnected.wait(), 20)
        for sub in (first, second):
            assert [(await sub.next_msg(20)).payload for _ in range(20)] == [b"%d" % i for i in range(20)]
