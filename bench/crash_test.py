#!/usr/bin/python3
"""Kills paperboyd with SIGKILL under load, again and again, and checks that no confirmed message
was lost.

    bench/crash_test.py --paperboyd build/release/broker/paperboyd --cycles 50

It starts paperboyd --data-dir on a temporary directory, runs --publishers confirmed publishers
(PUB with a req, up to --window unconfirmed each, every message numbered per publisher) and one
manual-ack consumer (prefetch 100, acks each delivery, pausing now and then so a backlog builds)
on one /queue channel. Every 0.2 to 1.2 s
(--min-run, --max-run) it sends the daemon SIGKILL and restarts it on the same directory and port;
the clients reconnect. After --cycles kills the publishers stop, the consumer drains the queue,
and the daemon is restarted once more with SIGTERM (a clean shutdown) to see that nothing acked
comes back. Then it checks:

- lost: confirmed messages (the broker said OK) that never arrived. Must be 0.
- order: per publisher, the first deliveries of its messages arrive in publishing order.
- duplicates: a message delivered again must carry the redelivered flag (an ack lost in the
  crash's last group-commit window brings a message back, flagged).
- after the clean restart no message is delivered again.

Messages the publisher sent but saw no OK for (the connection died first) may arrive or not; the
publishers never resend them, so every duplicate is the broker's. Exits 1 on any failed check.
Standard library only; the wire format comes from clients/python's codec.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients" / "python" / "src"))
from paperboy import codec  # noqa: E402

PAYLOAD = struct.Struct(">HQ")  # publisher, sequence number
ERR_HEAD = struct.Struct(">IH")
OK_REQ = struct.Struct(">I")
MSG1 = struct.Struct(">QBH")  # after the op byte: delivery, flags, channel length
QUEUE = "/queue/crash.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return await reader.readexactly(length)


@dataclass
class PublisherState:
    ident: int
    next_seq: int = 0
    sent: int = 0
    confirmed: set[int] = field(default_factory=set)
    refused: int = 0
    unconfirmed_at_loss: int = 0  # PUBs whose connection died before their OK
    connections: int = 0


@dataclass
class ConsumerState:
    deliveries: int = 0
    first: dict[int, list[int]] = field(default_factory=dict)  # publisher -> seqs, first seen
    seen: dict[tuple[int, int], int] = field(default_factory=dict)  # -> consumer connection
    unflagged: list[str] = field(default_factory=list)  # a few examples
    duplicates: int = 0
    unflagged_duplicates: int = 0
    redelivered_flags: int = 0
    last_delivery: float = 0.0
    connections: int = 0


class Daemon:
    """paperboyd on a fixed port and data directory, started and killed at will."""

    def __init__(self, binary: str, data_dir: Path | None, port: int, extra: list[str], log: Path):
        self.binary, self.data_dir, self.port, self.extra, self.log = binary, data_dir, port, extra, log
        self.process: subprocess.Popen | None = None
        self.starts: list[float] = []  # seconds from spawn to accepting connections

    def start(self, timeout: float = 60.0) -> float:
        with open(self.log, "ab") as log:
            args = [self.binary, "--port", str(self.port), *self.extra]
            if self.data_dir is not None:
                args += ["--data-dir", str(self.data_dir)]
            spawned = time.monotonic()
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        while time.monotonic() - spawned < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"paperboyd exited with {self.process.returncode}; see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                took = time.monotonic() - spawned
                self.starts.append(took)
                return took
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"paperboyd did not listen within {timeout} s; see {self.log}")

    def stop(self, sig: int) -> None:
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class CrashTest:
    def __init__(self, args: argparse.Namespace, port: int):
        self.args = args
        self.port = port
        self.publishers = [PublisherState(i) for i in range(args.publishers)]
        self.consumer = ConsumerState()
        self.publishing = True
        self.consuming = True
        self.consuming_stalls = True

    async def connect(self, name: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(codec.encode_hello(1, name, ""))
        return reader, writer

    # --- publishers -------------------------------------------------------------------------

    async def publish_forever(self, state: PublisherState) -> None:
        channel = QUEUE.encode()
        padding = b"\x00" * max(0, self.args.size - PAYLOAD.size)
        interval = 1.0 / self.args.rate if self.args.rate > 0 else 0.0
        while self.publishing:
            try:
                reader, writer = await self.connect(f"crash-pub-{state.ident}")
            except OSError:
                await asyncio.sleep(0.02)
                continue
            state.connections += 1
            pending: dict[int, int] = {}  # req -> seq
            room = asyncio.Event()
            room.set()
            closed = asyncio.Event()

            async def read_answers() -> None:
                try:
                    while True:
                        body = await read_frame(reader)
                        op = body[0]
                        if op == codec.OP_OK:
                            (req,) = OK_REQ.unpack_from(body, 1)
                            seq = pending.pop(req, None)
                            if seq is not None:
                                state.confirmed.add(seq)
                        elif op == codec.OP_ERR:
                            req, _code = ERR_HEAD.unpack_from(body, 1)
                            if pending.pop(req, None) is not None:
                                state.refused += 1
                        elif op == codec.OP_PING:
                            writer.write(codec.encode_u64_op(codec.OP_PONG, struct.unpack_from(">Q", body, 1)[0]))
                        if len(pending) < self.args.window:
                            room.set()
                except (OSError, asyncio.IncompleteReadError):
                    pass
                finally:
                    closed.set()
                    room.set()

            answers = asyncio.create_task(read_answers())
            req = 0
            try:
                while self.publishing and not closed.is_set():
                    if len(pending) >= self.args.window:
                        room.clear()
                        await room.wait()
                        continue
                    req += 1
                    seq = state.next_seq
                    state.next_seq += 1
                    pending[req] = seq
                    payload = PAYLOAD.pack(state.ident, seq) + padding
                    writer.write(codec.encode_pub(1, req, 0, 0, channel, b"", b"", payload))
                    state.sent += 1
                    await writer.drain()
                    if interval:
                        await asyncio.sleep(interval)
                # Stopping: give the last PUBs a moment to be confirmed.
                deadline = time.monotonic() + 10
                while pending and not closed.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
            except (OSError, ConnectionError):
                pass
            state.unconfirmed_at_loss += len(pending)
            writer.close()
            await asyncio.gather(answers, return_exceptions=True)

    # --- the consumer -----------------------------------------------------------------------

    def record_delivery(self, payload: bytes, redelivered: bool) -> None:
        c = self.consumer
        c.deliveries += 1
        c.last_delivery = time.monotonic()
        if redelivered:
            c.redelivered_flags += 1
        publisher, seq = PAYLOAD.unpack_from(payload)
        key = (publisher, seq)
        if key in c.seen:
            c.duplicates += 1
            if not redelivered:
                c.unflagged_duplicates += 1
                if len(c.unflagged) < 5:
                    c.unflagged.append(f"publisher {publisher} seq {seq}: first on consumer connection "
                                       f"{c.seen[key]}, again unflagged on {c.connections}")
            return
        c.seen[key] = c.connections
        c.first.setdefault(publisher, []).append(seq)

    async def consume_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                body = await read_frame(reader)
                op = body[0]
                if op == codec.OP_MSG:
                    delivery, flags, name_len = MSG1.unpack_from(body, 1)
                    at = 1 + MSG1.size + name_len
                    (reply_len,) = struct.unpack_from(">H", body, at)
                    payload = body[at + 2 + reply_len :]
                    self.record_delivery(payload, bool(flags & codec.MSG_FLAG_REDELIVERED))
                    writer.write(codec.encode_u64_op(codec.OP_ACK, delivery))
                    await writer.drain()
                    if self.consumer.deliveries % 1000 == 0 and self.consuming_stalls:
                        # Now and then the consumer falls behind, so a kill finds a backlog
                        # and up to a prefetch of unacked deliveries.
                        await asyncio.sleep(random.uniform(0, self.args.consumer_stall))
                elif op == codec.OP_PING:
                    writer.write(codec.encode_u64_op(codec.OP_PONG, struct.unpack_from(">Q", body, 1)[0]))
                elif op == codec.OP_ERR:
                    print(f"consumer: ERR {ERR_HEAD.unpack_from(body, 1)}", file=sys.stderr)
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            pass

    async def consume_forever(self) -> None:
        channel = QUEUE.encode()
        while self.consuming:
            try:
                reader, writer = await self.connect("crash-consumer")
            except OSError:
                await asyncio.sleep(0.02)
                continue
            self.consumer.connections += 1
            writer.write(codec.encode_sub(1, codec.SUB_FLAG_MANUAL_ACK, 100, channel))
            # The session reads whole frames; it is cancelled only to leave, never mid-run.
            session = asyncio.create_task(self.consume_session(reader, writer))
            while self.consuming and not session.done():
                await asyncio.wait({session}, timeout=0.1)
            if not session.done():
                session.cancel()
            await asyncio.gather(session, return_exceptions=True)
            try:
                # A clean leave: the broker reads the last ACKs before it sees the close.
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except (OSError, ConnectionError):
                pass

    # --- the run ----------------------------------------------------------------------------

    async def run(self, daemon: Daemon) -> dict:
        loop = asyncio.get_running_loop()
        rng = random.Random(self.args.seed)
        consumer = asyncio.create_task(self.consume_forever())
        publishers = [asyncio.create_task(self.publish_forever(p)) for p in self.publishers]
        for cycle in range(1, self.args.cycles + 1):
            await asyncio.sleep(rng.uniform(self.args.min_run, self.args.max_run))
            await loop.run_in_executor(None, daemon.stop, signal.SIGKILL)
            took = await loop.run_in_executor(None, daemon.start)
            if not self.args.quiet:
                confirmed = sum(len(p.confirmed) for p in self.publishers)
                print(f"cycle {cycle}: killed, back in {took:.3f} s; confirmed {confirmed}, "
                      f"delivered {self.consumer.deliveries}", flush=True)
        await asyncio.sleep(rng.uniform(self.args.min_run, self.args.max_run))
        self.publishing = False
        self.consuming_stalls = False
        await asyncio.gather(*publishers)
        confirmed = {(p.ident, s) for p in self.publishers for s in p.confirmed}
        # Drain: until everything confirmed arrived and nothing came for a second, or nothing
        # came for --drain-idle seconds (what is missing then is lost), or the deadline.
        deadline = time.monotonic() + self.args.drain_timeout
        self.consumer.last_delivery = time.monotonic()
        while time.monotonic() < deadline:
            idle = time.monotonic() - self.consumer.last_delivery
            if (confirmed <= self.consumer.seen.keys() and idle > 1.0) or idle > self.args.drain_idle:
                break
            await asyncio.sleep(0.1)
        self.consuming = False
        await consumer
        # A clean shutdown after every delivery was acked: nothing may come back.
        await loop.run_in_executor(None, daemon.stop, signal.SIGTERM)
        await loop.run_in_executor(None, daemon.start)
        before = self.consumer.deliveries
        self.consuming = True
        consumer = asyncio.create_task(self.consume_forever())
        await asyncio.sleep(self.args.after_clean_wait)
        self.consuming = False
        await consumer
        return {"confirmed": confirmed, "returned_after_clean_restart": self.consumer.deliveries - before}


def order_violations(first: dict[int, list[int]]) -> int:
    return sum(1 for seqs in first.values() for a, b in zip(seqs, seqs[1:]) if b < a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paperboyd", required=True, help="the daemon to test")
    parser.add_argument("--cycles", type=int, default=20, help="SIGKILLs (default 20)")
    parser.add_argument("--publishers", type=int, default=3)
    parser.add_argument("--window", type=int, default=50, help="unconfirmed PUBs per publisher, at most")
    parser.add_argument("--rate", type=float, default=2000, help="messages/s per publisher; 0: flat out")
    parser.add_argument("--size", type=int, default=128, help="payload bytes")
    parser.add_argument("--min-run", type=float, default=0.2, help="seconds between a start and its kill, at least")
    parser.add_argument("--max-run", type=float, default=1.2, help="... and at most")
    parser.add_argument("--consumer-stall", type=float, default=0.5,
                        help="after every 1,000 deliveries the consumer pauses up to this long (a backlog builds)")
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds the final drain may take")
    parser.add_argument("--drain-idle", type=float, default=5,
                        help="the final drain ends after this long without a delivery")
    parser.add_argument("--after-clean-wait", type=float, default=1.5,
                        help="seconds the consumer listens after the clean restart")
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments (default: random)")
    parser.add_argument("--data-dir", help="use (and keep) this directory instead of a temporary one")
    parser.add_argument("--daemon-arg", action="append", default=[], help="one more paperboyd argument (repeatable)")
    parser.add_argument("--non-durable", action="store_true",
                        help="no --data-dir: shows that the checks catch what a plain broker loses")
    parser.add_argument("--quiet", action="store_true", help="only the totals")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)

    temp = None if args.data_dir else tempfile.mkdtemp(prefix="paperboy-crash-")
    data_dir = Path(args.data_dir or temp)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}.paperboyd.log" if args.data_dir else Path(temp) / "paperboyd.log"
    port = free_port()
    daemon = Daemon(args.paperboyd, None if args.non_durable else data_dir / "data", port, args.daemon_arg, log)
    started = time.monotonic()
    test = CrashTest(args, port)
    try:
        daemon.start()
        outcome = asyncio.run(test.run(daemon))
    finally:
        daemon.stop(signal.SIGTERM)
    elapsed = time.monotonic() - started

    confirmed = outcome["confirmed"]
    seen = set(test.consumer.seen)
    lost = confirmed - seen
    violations = order_violations(test.consumer.first)
    c = test.consumer
    totals = {
        "seed": args.seed,
        "cycles": args.cycles,
        "seconds": round(elapsed, 1),
        "sent": sum(p.sent for p in test.publishers),
        "confirmed": len(confirmed),
        "refused": sum(p.refused for p in test.publishers),
        "unconfirmed_at_kill": sum(p.unconfirmed_at_loss for p in test.publishers),
        "delivered": c.deliveries,
        "distinct": len(seen),
        "unconfirmed_delivered": len(seen - confirmed),
        "duplicates": c.duplicates,
        "unflagged_duplicates": c.unflagged_duplicates,
        "redelivered_flags": c.redelivered_flags,
        "order_violations": violations,
        "returned_after_clean_restart": outcome["returned_after_clean_restart"],
        "lost": len(lost),
        "restart_median_s": round(sorted(daemon.starts)[len(daemon.starts) // 2], 3),
        "restart_max_s": round(max(daemon.starts), 3),
    }
    print(" ".join(f"{k}={v}" for k, v in totals.items()))
    failures = []
    if lost:
        sample = sorted(lost)[:10]
        failures.append(f"{len(lost)} confirmed messages lost (publisher, seq), e.g. {sample}")
    if violations:
        failures.append(f"{violations} first deliveries out of publishing order")
    if c.unflagged_duplicates:
        failures.append(f"{c.unflagged_duplicates} duplicates without the redelivered flag, e.g. "
                        + "; ".join(c.unflagged))
    if outcome["returned_after_clean_restart"]:
        failures.append(f"{outcome['returned_after_clean_restart']} acked messages came back after a clean restart")
    if not confirmed:
        failures.append("nothing was confirmed")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        print(f"daemon log: {log}", file=sys.stderr)
    elif temp:
        shutil.rmtree(temp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
