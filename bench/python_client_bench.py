#!/usr/bin/env python3
"""Throughput of the Python client (clients/python) against a real paperboyd, one core each side.

  bash scripts/build.sh release paperboyd
  bench/python_client_bench.py                       # starts build/release/broker/paperboyd
  bench/python_client_bench.py --paperboyd build/debug/broker/paperboyd --rounds 3
  bench/python_client_bench.py --port 25000          # an already running broker

publish: one client publishes --count messages of --size bytes to a topic nobody subscribes
  to, as fast as `await pb.publish()` goes, then `await pb.flush()` (a PING round trip, so the
  broker has read them all); the figure is messages / elapsed.
consume: a publisher process (this script with --publisher) sends --count messages to a queue;
  one client takes them with `async for msg in sub`; the figure is messages / time from the
  first to the last message. The consumer verifies every payload's sequence number.

Each round runs both; the medians over --rounds are printed (and --json writes them), as
messages per wall-clock second and per CPU second of the measuring process (the rate one whole
core would give it; on a shared machine the steadier figure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))

import paperboy  # noqa: E402

SEQ = struct.Struct(">Q")


def payload_of(seq: int, size: int) -> bytes:
    return SEQ.pack(seq) + b"x" * (size - SEQ.size)


async def publish_round(port: int, count: int, size: int, channel: str) -> "tuple[float, float]":
    async with await paperboy.connect("127.0.0.1", port, name="bench-publisher") as pb:
        payloads = [payload_of(i, size) for i in range(1000)]
        start, cpu = time.perf_counter(), time.process_time()
        publish = pb.publish
        for i in range(count):
            await publish(channel, payloads[i % 1000])
        await pb.flush(timeout=60)
        return count / (time.perf_counter() - start), count / (time.process_time() - cpu)


async def consume_round(port: int, count: int, size: int, channel: str) -> "tuple[float, float]":
    async with await paperboy.connect("127.0.0.1", port, name="bench-consumer") as pb:
        sub = await pb.subscribe(channel)
        publisher = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "--publisher", "--port", str(port),
            "--count", str(count), "--size", str(size), "--channel", channel,
        )
        received = 0
        start = cpu = 0.0
        async for msg in sub:
            if received == 0:
                start, cpu = time.perf_counter(), time.process_time()
            (seq,) = SEQ.unpack_from(msg.payload)
            if seq != received or len(msg.payload) != size:
                raise SystemExit(f"consume: message {received} carried sequence {seq}")
            received += 1
            if received == count:
                break
        elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu
        await publisher.wait()
        return (count - 1) / elapsed, (count - 1) / cpu_used


async def run_publisher(port: int, count: int, size: int, channel: str) -> None:
    async with await paperboy.connect("127.0.0.1", port, name="bench-feeder") as pb:
        for i in range(count):
            await pb.publish(channel, payload_of(i, size))
        await pb.flush(timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(path: str) -> "tuple[subprocess.Popen[bytes], int]":
    port = free_port()
    broker = subprocess.Popen(
        [path, "--port", str(port), "--bind", "127.0.0.1", "--channel-backlog", "1000000",
         "--channel-backlog-bytes", str(1 << 30)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    broker.kill()
    raise SystemExit(f"python_client_bench: {path} does not listen on {port}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paperboyd", default=os.path.join(ROOT, "build/release/broker/paperboyd"))
    ap.add_argument("--port", type=int, default=0, help="use this running broker instead")
    ap.add_argument("--count", type=int, default=500_000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--channel", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        asyncio.run(run_publisher(args.port, args.count, args.size, args.channel))
        return

    broker = None
    port = args.port
    if not port:
        broker, port = start_broker(args.paperboyd)
    try:
        publish, consume = [], []
        for r in range(args.rounds):
            publish.append(asyncio.run(publish_round(port, args.count, args.size, f"/topic/bench/{r}")))
            consume.append(asyncio.run(consume_round(port, args.count, args.size, f"/queue/bench{r}")))
            print(f"round {r + 1}: publish {publish[-1][0]:,.0f} msg/s ({publish[-1][1]:,.0f} per CPU s), "
                  f"consume {consume[-1][0]:,.0f} msg/s ({consume[-1][1]:,.0f} per CPU s)", file=sys.stderr)
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait()
    result = {
        "size": args.size,
        "count": args.count,
        "rounds": args.rounds,
        "publish_msgs_per_s": round(statistics.median(p[0] for p in publish)),
        "publish_msgs_per_cpu_s": round(statistics.median(p[1] for p in publish)),
        "consume_msgs_per_s": round(statistics.median(c[0] for c in consume)),
        "consume_msgs_per_cpu_s": round(statistics.median(c[1] for c in consume)),
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"python client, {args.size} B, {args.count:,} messages, median of {args.rounds} rounds: "
              f"publish {result['publish_msgs_per_s']:,} msg/s ({result['publish_msgs_per_cpu_s']:,} per CPU "
              f"second), consume {result['consume_msgs_per_s']:,} msg/s ({result['consume_msgs_per_cpu_s']:,} "
              "per CPU second)")


if __name__ == "__main__":
    main()
