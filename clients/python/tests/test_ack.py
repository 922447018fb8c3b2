"""Manual acknowledgement, prefetch and redelivery."""

from __future__ import annotations

import paperboy
import pytest

from conftest import Daemon, deadline


@deadline(60)
async def test_manual_ack_with_prefetch_holds_at_most_prefetch_unacked(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb, await paperboy.connect(
        "127.0.0.1", daemon.port
    ) as other:
        holder = await pb.subscribe("/queue/work", manual_ack=True, prefetch=3)
        for i in range(10):
            await pb.publish("/queue/work", b"%d" % i)
        held = [await holder.next_msg(20) for _ in range(3)]
        assert all(m.delivery > 0 and not m.redelivered for m in held)
        # The holder has no credit left: the other consumer gets the remaining seven.
        rest = await other.subscribe("/queue/work")
        got = [await rest.next_msg(20) for _ in range(7)]
        assert sorted(int(m.payload) for m in held + got) == list(range(10))
        await pb.flush()
        assert holder.pending == 0 and holder.unacked == 3
        for m in held:
            assert await m.ack()
        await pb.flush()
        assert holder.unacked == 0


@deadline(60)
async def test_nack_redelivers_with_a_fresh_delivery_id(daemon: Daemon) -> None:
    errors: list[Exception] = []
    async with await paperboy.connect("127.0.0.1", daemon.port, on_error=errors.append) as pb:
        sub = await pb.subscribe("/queue/retry", manual_ack=True, prefetch=1)
        await pb.publish("/queue/retry", b"job", confirm=True)
        first = await sub.next_msg(20)
        assert await first.nack()
        again = await sub.next_msg(20)
        assert (again.payload, again.redelivered) == (b"job", True)
        assert again.delivery != first.delivery
        assert await again.ack()
        assert not await again.ack()  # settled once; nothing sent twice
        await pb.flush()
        assert errors == []


@deadline(60)
async def test_unacked_deliveries_go_to_another_consumer_when_the_holder_disconnects(daemon: Daemon) -> None:
    holder = await paperboy.connect("127.0.0.1", daemon.port)
    async with await paperboy.connect("127.0.0.1", daemon.port) as other:
        sub = await holder.subscribe("/queue/handover", manual_ack=True, prefetch=5)
        for i in range(5):
            await holder.publish("/queue/handover", b"%d" % i)
        held = [await sub.next_msg(20) for _ in range(5)]
        await holder.close()
        assert not await held[0].ack()  # its connection is gone: nothing is sent
        rest = await other.subscribe("/queue/handover")
        again = [await rest.next_msg(20) for _ in range(5)]
        assert [m.payload for m in again] == [b"%d" % i for i in range(5)]
        assert all(m.redelivered for m in again)


@deadline(60)
async def test_headers_ttl_and_published_at_round_trip(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        sub = await pb.subscribe("/topic/h")
        await pb.publish(
            "/topic/h", b"x", headers=[("k", "1"), ("k", b"\x00\xff"), ("content-type", "text/plain")],
            reply_to="/topic/answers", confirm=True,
        )
        msg = await sub.next_msg(20)
        assert msg.header_list == [("k", b"1"), ("k", b"\x00\xff"), ("content-type", b"text/plain")]
        assert msg.headers["content-type"] == "text/plain"
        assert msg.reply_to == "/topic/answers"
        assert msg.published_at > 1.6e9
        with pytest.raises(paperboy.Error) as refused:
            await pb.publish("/nowhere", b"x", confirm=True)
        assert refused.value.code == 3


@deadline(60)
async def test_version_1_broker_is_spoken_to_in_version_1(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    old = daemon_factory("--max-protocol-version", "1")
    async with await paperboy.connect("127.0.0.1", old.port) as pb:
        assert pb.protocol_version == 1
        sub = await pb.subscribe("/topic/v1")
        await pb.publish("/topic/v1", b"plain", confirm=True)
        msg = await sub.next_msg(20)
        assert (msg.payload, msg.headers, msg.published_at) == (b"plain", {}, 0.0)
        with pytest.raises(paperboy.Error):
            await pb.publish("/topic/v1", b"x", headers={"a": "b"})


@deadline(60)
async def test_unsubscribe_gives_unacked_back_and_ends_the_iteration(daemon: Daemon) -> None:
    errors: list[Exception] = []
    async with await paperboy.connect("127.0.0.1", daemon.port, on_error=errors.append) as pb, \
            await paperboy.connect("127.0.0.1", daemon.port) as other:
        sub = await pb.subscribe("/queue/leave", manual_ack=True, prefetch=2)
        await pb.publish("/queue/leave", b"a")
        await pb.publish("/queue/leave", b"b", confirm=True)
        held = await sub.next_msg(20)
        await sub.unsubscribe()
        with pytest.raises(StopAsyncIteration):
            await sub.__anext__()
        assert not await held.ack()  # given back by the UNSUB: nothing sent, nothing refused
        rest = await other.subscribe("/queue/leave")
        again = sorted([(await rest.next_msg(20)).payload for _ in range(2)])
        assert again == [b"a", b"b"]
        await pb.flush()
        assert errors == []


@deadline(60)
async def test_a_message_goes_to_every_matching_subscription_of_the_client(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        everything = await pb.subscribe("/topic/news/>")
        sports = await pb.subscribe("/topic/news/sports")
        one_level = await pb.subscribe("/topic/news/*")
        await pb.publish("/topic/news/sports", b"goal")
        await pb.publish("/topic/news/weather/today", b"rain")
        await pb.publish("/topic/news/sports", b"end", confirm=True)
        await pb.flush()
        assert everything.pending == 3 and sports.pending == 2 and one_level.pending == 2
        assert [(await everything.next_msg(1)).payload for _ in range(3)] == [b"goal", b"rain", b"end"]
        assert [(await sports.next_msg(1)).payload for _ in range(2)] == [b"goal", b"end"]
        assert [(await one_level.next_msg(1)).payload for _ in range(2)] == [b"goal", b"end"]
