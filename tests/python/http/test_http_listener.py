"""paperboyd --http: /metrics, /stats, /healthz and POST /queues/purge against a known workload.

Each test starts the real daemon with `--port 0 --http 127.0.0.1:0`, reads both ports from its
log, drives it with the Python client (and raw sockets where a client would refuse to), waits
until the broker has answered (PONG, OK, received messages; never a sleep) and checks exact
values, parsed by prometheus_client's own text parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import signal
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import paperboy
import pytest
from paperboy import codec
from prometheus_client.parser import text_string_to_metric_families

from conftest import support

Daemon = support.Daemon
deadline = support.deadline
until = support.until
DaemonFactory = Callable[..., Daemon]

MAX_PAYLOAD = 1024
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    authenticate: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


def _request(port: int, method: str, path: str, headers: dict[str, str]) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        # A POST carries Content-Length: 0, as httplib's client sends it.
        conn.request(method, path, body=b"" if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.getheader("Content-Type") or "", response.read(),
                      response.getheader("WWW-Authenticate") or "")
    finally:
        conn.close()


async def request(port: int, method: str, path: str,
                  headers: Optional[dict[str, str]] = None) -> Answer:
    """One HTTP request, off the event loop (the clients' sockets keep being served)."""
    return await asyncio.to_thread(_request, port, method, path, headers or {})


def http_port(daemon: Daemon) -> int:
    # Logged before server.listening, which Daemon.start waited for.
    match = re.search(rb"http\.listening[^\n]*\bport=(\d+)", daemon.log_path.read_bytes())
    assert match, daemon.log_tail()
    return int(match.group(1))


@dataclass(frozen=True, slots=True)
class Metrics:
    """Samples by (name, frozenset of labels), and the families' types."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    types: dict[str, str]

    def value(self, name: str, **labels: str) -> Optional[float]:
        return self.samples.get((name, frozenset(labels.items())))

    def channel(self, name: str, channel: str, kind: str) -> Optional[float]:
        return self.value(name, channel=channel, kind=kind)


def parse_metrics(text: str) -> Metrics:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = sample.value
    return Metrics(samples, types)


async def fetch_metrics(port: int) -> Metrics:
    answer = await request(port, "GET", "/metrics")
    assert answer.status == 200
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    return parse_metrics(answer.body.decode())


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def refused_oversize_publish(port: int) -> bytes:
    """A raw PB1 v2 client whose PUB is over --max-payload: ERR 2, then closed. Returns all it
    was sent (WELCOME, ERR) once the broker closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT) as raw:
        raw.sendall(codec.encode_hello(2, "oversize", ""))
        raw.sendall(
            codec.encode_pub(2, 7, 0, 0, b"/topic/big", b"", b"", b"x" * (MAX_PAYLOAD + 1))
        )
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
        return received


def garbage_request(port: int) -> bytes:
    """Bytes that are not HTTP to the HTTP listener; what it answered before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT) as raw:
        raw.sendall(b"\x16\x03\x01\x00\xff not http at all \x00\x01\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
        return received


def pb0_subscriber(port: int, channel: bytes) -> socket.socket:
    """A PB0 client: its first frame is the channel it subscribes to (no answer comes)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT)
    raw.sendall(frame(channel))
    return raw


@deadline(120)
async def test_metrics_and_stats_match_a_known_workload(daemon_factory: DaemonFactory) -> None:
    daemon = daemon_factory("--http", "127.0.0.1:0", "--max-payload", str(MAX_PAYLOAD))
    web = http_port(daemon)
    port = daemon.port

    async with contextlib.AsyncExitStack() as clients:
        sub1, sub2, worker, publisher = [
            await clients.enter_async_context(await paperboy.connect("127.0.0.1", port, name=name))
            for name in ("sub-1", "sub-2", "worker", "publisher")
        ]
        topic1 = await sub1.subscribe("/topic/a")
        topic2 = await sub2.subscribe("/topic/a")
        jobs = await worker.subscribe("/queue/jobs", manual_ack=True, prefetch=10)
        for i in range(50):
            await publisher.publish("/topic/a", b"news %d" % i)
        for i in range(30):
            await publisher.publish("/queue/jobs", b"job %d" % i)
        await publisher.flush()  # every PUB above was taken
        for sub in (topic1, topic2):
            got = [await sub.next_msg(20) for _ in range(50)]
            assert [m.payload for m in got] == [b"news %d" % i for i in range(50)]
        held = [await jobs.next_msg(20) for _ in range(10)]
        await worker.flush()

        # A PUB to a channel that is neither /topic/ nor /queue/: ERR bad_channel.
        with pytest.raises(paperboy.Error):
            await publisher.publish("/nowhere/x", b"lost", confirm=True)
        # A PUB over --max-payload from a raw client: ERR 2 (frame_too_large), closed.
        answer = await asyncio.to_thread(refused_oversize_publish, port)
        assert codec.OP_ERR in answer
        pb0 = await asyncio.to_thread(pb0_subscriber, port, b"/topic/pb0")
        try:
            # PB0 has no answer to wait for: poll /stats until the broker has taken its frame.
            async def pb0_seen() -> bool:
                stats = (await request(web, "GET", "/stats?connections=0")).json()
                return stats["server"]["connections"].get("pb0") == 1

            await until_async(pb0_seen, "the PB0 subscriber in /stats")

            # The state before the worker acks anything.
            before = await fetch_metrics(web)
            assert before.channel("paperboy_queue_depth", "/queue/jobs", "queue") == 20
            assert before.channel("paperboy_queue_unacked", "/queue/jobs", "queue") == 10
            assert before.channel("paperboy_messages_delivered_total", "/queue/jobs", "queue") == 10

            # Four acks free four places of the prefetch window: four more are handed out.
            for message in held[:4]:
                assert await message.ack()
            more = [await jobs.next_msg(20) for _ in range(4)]
            await worker.flush()
            assert jobs.unacked == 10 and len(more) == 4

            metrics = await fetch_metrics(web)
            check_metrics(metrics)
            stats_answer = await request(web, "GET", "/stats")
            assert stats_answer.status == 200
            assert stats_answer.content_type.startswith("application/json")
            check_stats(stats_answer.json())
        finally:
            pb0.close()


async def until_async(
    condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0
) -> None:
    """Wait for an async ``condition`` to hold, polling with a deadline."""
    end = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def check_metrics(m: Metrics) -> None:
    topic = ("/topic/a", "topic")
    queue = ("/queue/jobs", "queue")
    assert m.channel("paperboy_messages_published_total", *topic) == 50
    assert m.channel("paperboy_messages_delivered_total", *topic) == 100
    assert m.channel("paperboy_messages_dropped_total", *topic) == 0
    assert m.channel("paperboy_gaps_total", *topic) == 0
    assert m.channel("paperboy_topic_subscribers", *topic) == 2
    assert m.channel("paperboy_queue_depth", *topic) is None  # queue gauges are for queues

    assert m.channel("paperboy_messages_published_total", *queue) == 30
    assert m.channel("paperboy_messages_delivered_total", *queue) == 14
    assert m.channel("paperboy_messages_expired_total", *queue) == 0
    assert m.channel("paperboy_messages_dead_lettered_total", *queue) == 0
    assert m.channel("paperboy_queue_depth", *queue) == 16
    assert m.channel("paperboy_queue_consumers", *queue) == 1
    assert m.channel("paperboy_queue_unacked", *queue) == 10
    assert m.channel("paperboy_queue_blocked_publishers", *queue) == 0
    assert m.channel("paperboy_queue_bytes", *queue) > 0
    assert m.channel("paperboy_queue_oldest_message_age_seconds", *queue) >= 0

    assert m.channel("paperboy_topic_subscribers", "/topic/pb0", "topic") == 1
    assert m.value("paperboy_connections", protocol="pb1v2") == 4
    assert m.value("paperboy_connections", protocol="pb0") == 1
    assert m.value("paperboy_connections", protocol="pb1v1") == 0
    assert m.value("paperboy_connections", protocol="handshake") == 0
    assert m.value("paperboy_connections_accepted_total") == 6  # 4 clients, the raw one, PB0
    assert m.value("paperboy_refusals_total", code="bad_channel") == 1
    assert m.value("paperboy_refusals_total", code="frame_too_large") == 1
    assert m.value("paperboy_server_messages_in_total") == 80
    assert m.value("paperboy_server_messages_out_total") == 114
    assert m.value("paperboy_bytes_in_total") > 0 and m.value("paperboy_bytes_out_total") > 0
    assert m.value("paperboy_slow_consumers") == 0
    assert m.value("paperboy_blocked_publishers") == 0
    assert m.value("paperboy_uptime_seconds") > 0
    assert m.types["paperboy_messages_published"] == "counter"  # the parser drops _total
    assert m.types["paperboy_queue_depth"] == "gauge"

    for name in ("paperboy_time_in_queue_seconds", "paperboy_publish_to_write_seconds"):
        assert m.types[name] == "histogram"
        buckets = sorted(
            (float(dict(labels)["le"]), value)
            for (sample, labels), value in m.samples.items()
            if sample == f"{name}_bucket"
        )
        assert buckets[-1][0] == float("inf")
        counts = [value for _, value in buckets]
        assert counts == sorted(counts), f"{name} buckets are not cumulative"
        increments = [counts[0]] + [b - a for a, b in zip(counts, counts[1:])]
        assert m.value(f"{name}_count") == sum(increments) == counts[-1]
        assert m.value(f"{name}_sum") >= 0


def check_stats(stats: dict[str, Any]) -> None:
    server = stats["server"]
    assert server["connections"] == {"pb1v2": 4, "pb0": 1}
    assert server["connections_total"] == 6
    assert server["messages_in"] == 80 and server["messages_out"] == 114
    assert server["refusals"] == {"bad_channel": 1, "frame_too_large": 1}
    assert server["slow_consumers"] == 0 and server["blocked_publishers"] == 0
    assert server["uptime_seconds"] > 0 and server["version"] and server["server_id"]
    for histogram in (server["time_in_queue"], server["publish_to_write"]):
        assert len(histogram["bucket_counts"]) == len(histogram["upper_bounds_seconds"]) + 1
        assert sum(histogram["bucket_counts"]) == histogram["count"]

    channels = {channel["name"]: channel for channel in stats["channels"]}
    assert [c["name"] for c in stats["channels"]] == sorted(channels)
    assert set(channels) == {"/queue/jobs", "/topic/a", "/topic/pb0"}
    topic = channels["/topic/a"]
    assert topic["kind"] == "topic"
    assert (topic["published"], topic["delivered"], topic["consumers"]) == (50, 100, 2)
    assert topic["oldest_age_seconds"] is None
    queue = channels["/queue/jobs"]
    assert queue["kind"] == "queue"
    assert (queue["published"], queue["delivered"]) == (30, 14)
    assert (queue["backlog_messages"], queue["consumers"], queue["unacked"]) == (16, 1, 10)
    assert queue["oldest_age_seconds"] >= 0

    connections = {c["client_name"]: c for c in stats["connections"]}
    assert [c["id"] for c in stats["connections"]] == sorted(c["id"] for c in stats["connections"])
    assert connections["sub-1"]["subscriptions"] == ["/topic/a"]
    assert connections["sub-1"]["messages_out"] == 50
    assert connections["worker"]["subscriptions"] == ["/queue/jobs"]
    assert connections["worker"]["unacked"] == 10
    assert connections["worker"]["messages_out"] == 14
    assert connections["publisher"]["messages_in"] == 80
    assert connections["publisher"]["protocol"] == "pb1v2"
    for connection in stats["connections"]:
        assert set(connection) == {
            "id", "peer", "protocol", "client_name", "subscriptions", "send_queue_bytes",
            "unacked", "dropped", "slow", "publishing_blocked", "messages_in", "messages_out",
        }


@deadline(90)
async def test_healthz_purge_and_bad_requests(daemon_factory: DaemonFactory) -> None:
    daemon = daemon_factory("--http", "127.0.0.1:0")
    web = http_port(daemon)

    health = await request(web, "GET", "/healthz")
    assert (health.status, health.body) == (200, b"ok\n")

    async with contextlib.AsyncExitStack() as clients:
        publisher, worker = [
            await clients.enter_async_context(
                await paperboy.connect("127.0.0.1", daemon.port, name=name)
            )
            for name in ("publisher", "worker")
        ]
        jobs = await worker.subscribe("/queue/purge-me", manual_ack=True, prefetch=1)
        for i in range(25):
            await publisher.publish("/queue/purge-me", b"%d" % i)
        await publisher.flush()
        held = await jobs.next_msg(20)
        await worker.flush()
        stats = (await request(web, "GET", "/stats?connections=0")).json()
        assert stats["connections"] == []
        depth = {c["name"]: (c["backlog_messages"], c["unacked"]) for c in stats["channels"]}
        assert depth == {"/queue/purge-me": (24, 1)}

        # The backlog goes; the message handed out and not yet acked stays the worker's.
        purged = await request(web, "POST", "/queues/purge?channel=/queue/purge-me")
        assert purged.status == 200
        assert purged.json() == {"channel": "/queue/purge-me", "purged": 24}
        metrics = await fetch_metrics(web)
        assert metrics.channel("paperboy_queue_depth", "/queue/purge-me", "queue") == 0
        assert metrics.channel("paperboy_queue_unacked", "/queue/purge-me", "queue") == 1
        assert metrics.channel("paperboy_queue_consumers", "/queue/purge-me", "queue") == 1
        assert await held.ack()
        await worker.flush()
        assert jobs.pending == 0  # nothing purged was delivered after all

        unknown = await request(web, "POST", "/queues/purge?channel=/queue/never")
        assert unknown.status == 404 and "error" in unknown.json()
        for query in ("", "?channel=/topic/a", "?channel=/queue/"):
            answer = await request(web, "POST", "/queues/purge" + query)
            assert answer.status == 400, query
            assert "error" in answer.json()
        missing = await request(web, "GET", "/nothing-here")
        assert missing.status == 404 and missing.json() == {"error": "not found"}

        # Bytes that are not HTTP: a 400, and both listeners keep serving.
        answer = await asyncio.to_thread(garbage_request, web)
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert (await request(web, "GET", "/healthz")).status == 200
        await publisher.publish("/queue/after", b"still here", confirm=True)
        await publisher.flush()
        after = (await request(web, "GET", "/stats")).json()
        assert {c["name"]: c["backlog_messages"] for c in after["channels"]}["/queue/after"] == 1
    assert daemon.process is not None and daemon.process.poll() is None


def run_paperboyd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [support.PAPERBOYD, "--port", "0", "--bind", "127.0.0.1", *args],
        capture_output=True,
        text=True,
        timeout=support.START_TIMEOUT,
    )


def test_a_malformed_http_value_stops_start_up_naming_it() -> None:
    for value in ("8222", "localhost:8222", "127.0.0.1:70000", "::1:8222", "127.0.0.1:"):
        result = run_paperboyd("--http", value)
        assert result.returncode == 2, value
        assert "--http: must be ADDRESS:PORT" in result.stderr, result.stderr


def test_an_http_address_in_use_stops_start_up_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_paperboyd("--http", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr


@deadline(60)
async def test_sighup_reports_a_changed_http_as_needing_a_restart(
    daemon_factory: DaemonFactory, tmp_path: Path
) -> None:
    config = tmp_path / "paperboyd.toml"
    config.write_text('http = "127.0.0.1:0"\n')
    daemon = daemon_factory("--config", str(config))
    web = http_port(daemon)
    config.write_text('http = "127.0.0.1:1"\n')
    daemon.signal(signal.SIGHUP)
    await until(lambda: b"config.reloaded" in daemon.log_path.read_bytes(), "the reload")
    assert b"config.reload_needs_restart key=http " in daemon.log_path.read_bytes()
    assert (await request(web, "GET", "/healthz")).status == 200  # still where it was bound


@deadline(60)
async def test_sigterm_stops_the_listener_and_exits_cleanly(daemon_factory: DaemonFactory) -> None:
    daemon = daemon_factory("--http", "127.0.0.1:0")
    web = http_port(daemon)
    assert (await request(web, "GET", "/metrics")).status == 200
    # A connection left open on the listener must not hold the daemon's exit.
    with socket.create_connection(("127.0.0.1", web), timeout=HTTP_TIMEOUT):
        daemon.terminate()
    assert daemon.process is not None and daemon.process.returncode == 0, daemon.log_tail()
    assert b"server.stopped" in daemon.log_path.read_bytes()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", web), timeout=HTTP_TIMEOUT).close()
