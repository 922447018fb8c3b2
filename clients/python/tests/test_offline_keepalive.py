"""The offline buffer's bound, and keepalive against a broker that stopped answering."""

from __future__ import annotations

import asyncio
import signal
import time

import paperboy
import pytest

from conftest import Daemon, Events, deadline, until

FAST = {"reconnect_initial_delay": 0.05, "reconnect_max_delay": 0.3}


@deadline(60)
async def test_offline_buffer_refuses_past_its_bound_and_keeps_what_it_took(daemon: Daemon) -> None:
    bound = 64 * 1024
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", daemon.port, offline_buffer_bytes=bound, **FAST, **events.options()
    ) as pb:
        await pb.flush()
        daemon.kill()
        await asyncio.wait_for(events.disconnected.wait(), 20)
        accepted = 0
        with pytest.raises(paperboy.OfflineBufferFull):
            for i in range(1000):
                await pb.publish("/queue/buffered", b"%06d" % i + b"x" * 1018)
                accepted += 1
        # Refused at the bound, not before it and not after: ~1 KiB each.
        assert bound // 1100 <= accepted <= bound // 1024
        assert pb.offline_buffered_bytes <= bound
        # Still refused while full; accepted again once the buffer was flushed.
        with pytest.raises(paperboy.OfflineBufferFull):
            await pb.publish("/queue/buffered", b"y" * 1024)
        daemon.restart()
        await asyncio.wait_for(events.reconnected.wait(), 20)
        sub = await pb.subscribe("/queue/buffered")
        got = [(await sub.next_msg(20)).payload[:6] for _ in range(accepted)]
        assert got == [b"%06d" % i for i in range(accepted)]
        assert pb.offline_buffered_bytes == 0


@deadline(60)
async def test_keepalive_detects_a_stopped_broker_within_its_timeout(daemon: Daemon) -> None:
    interval, timeout = 0.3, 0.7
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", daemon.port, ping_interval=interval, ping_timeout=timeout, connect_timeout=1.0,
        **FAST, **events.options(),
    ) as pb:
        sub = await pb.subscribe("/topic/heartbeat")
        await pb.flush()
        daemon.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            await asyncio.wait_for(events.disconnected.wait(), 20)
            detected = time.monotonic() - stopped
            # At most an idle interval and the PONG timeout; margin for a loaded machine.
            assert detected <= interval + timeout + 3.0, detected
            assert detected >= timeout * 0.9, detected
        finally:
            daemon.signal(signal.SIGCONT)
        await asyncio.wait_for(events.reconnected.wait(), 30)
        await pb.publish("/topic/heartbeat", b"alive", confirm=True)
        assert (await sub.next_msg(20)).payload == b"alive"


@deadline(60)
async def test_an_idle_connection_to_a_live_broker_stays_up(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", daemon.port, ping_interval=0.1, ping_timeout=2.0, **events.options()
    ) as pb:
        await asyncio.sleep(1.5)  # the idle time under test: fifteen ping intervals
        assert events.disconnects == 0 and pb.is_connected


@deadline(60)
async def test_a_client_paused_by_a_full_subscription_is_not_taken_for_dead(daemon: Daemon) -> None:
    events = Events()
    async with await paperboy.connect(
        "127.0.0.1", daemon.port, ping_interval=0.1, ping_timeout=0.3, **events.options()
    ) as slow, await paperboy.connect("127.0.0.1", daemon.port) as producer:
        sub = await slow.subscribe("/queue/backlog", max_pending_messages=10)
        for i in range(100):
            await producer.publish("/queue/backlog", b"%d" % i)
        await producer.flush()
        await until(lambda: sub.pending == 10, "the subscription to fill up")
        await asyncio.sleep(1.5)  # the paused time under test: several ping timeouts
        assert events.disconnects == 0 and slow.is_connected
        got = [int((await sub.next_msg(20)).payload) for _ in range(100)]
        assert got == list(range(100))
