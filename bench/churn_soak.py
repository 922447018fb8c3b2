#!/usr/bin/python3
"""Connection churn soak (issue 13): thousands of short PB1 sessions against a real paperboyd, then
the daemon must hold what it held before: the same file descriptors, the same channels, no
accounted memory but its message arena's slab, and about the same resident memory.

usage: churn_soak.py [--paperboyd PATH] [--cli PATH] [--mode open|users|both] [--cycles N] ...

Each mode starts its own daemon on free ports (the broker's and --http's, 127.0.0.1), with the
connection limits on but high (so their per-address tables are exercised, not hit), warms up with
--warmup churned connections, measures, runs --cycles more with --concurrency of them open at
once, waits (with a deadline) until /stats reports no connection, measures again, checks that a
fresh client still gets a round trip, and prints one JSON line per mode. Exit status 1 when a
check fails, naming it.

One cycle, its variety picked from its number: connect (from one of --addresses source addresses
127.0.x.y, so per-address state comes and goes), HELLO (version 1 or 2; with users, a user's name
and token), SUBs to a distinct topic, a distinct queue (auto or manual ack), a queue shared with
other connections, a wildcard pattern and a reply inbox /topic/_reply/..., sometimes a request
published to its own queue with its inbox as reply-to, answered through the reply-to it received,
or a PUB on its own topic; then a graceful close, a half-close waiting for the broker's EOF, an
abrupt RST (SO_LINGER 0), or a close before anything was read.

The resident-memory bound is absolute (--rss-bound-kib, default 1536 KiB): after the warm-up
(default 3,000 cycles) the allocator's own growth measured up to 1.0 MiB (up to 1.5 MiB after
500), and a leak of 160 bytes a connection over 10,000 connections adds 1.5 MiB to whatever that
is, so fails it alone. --no-rss-bound keeps every other check (for sanitizer builds, whose
allocators hold freed memory in quarantine).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OP_HELLO, OP_WELCOME, OP_SUB, OP_PUB, OP_MSG, OP_ACK = 0x00, 0x01, 0x02, 0x04, 0x05, 0x06
OP_OK, OP_ERR, OP_PING, OP_PONG = 0x08, 0x09, 0x0A, 0x0B
MANUAL_ACK = 0x01

USERS = ("churn-a", "churn-b")
# What the broker's accounted memory (/stats memory_bytes) may be with no connection and no
# channel: nothing, or the slab its message arena is filling (SharedBuffer::Arena keeps one, of
# 4 to 64 KiB, plus the 24-byte slab header). Anything else is held for someone who is gone.
ARENA_SLAB_ONLY = {0} | {(4096 << k) + 24 for k in range(5)}
# The ways a cycle ends (see run_cycle); --shapes runs some of them only, to find which leaks.
SHAPES = list(range(8))
PERMISSIONS = '["/topic/churn/>", "/queue/churn/>"]'


class SoakFailure(Exception):
    """A check of the soak failed; the message says which."""


# ---- PB1 frames (protocol/PROTOCOL.md) -------------------------------------------------------


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def s16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def hello(version: int, name: bytes, token: bytes) -> bytes:
    return frame(bytes([OP_HELLO]) + b"PB" + bytes([version]) + s16(name) + s16(token))


def sub(req: int, channel: bytes, flags: int = 0) -> bytes:
    return frame(bytes([OP_SUB]) + struct.pack(">IBH", req, flags, 0) + s16(channel))


def pub(version: int, req: int, channel: bytes, reply_to: bytes, payload: bytes) -> bytes:
    if version == 1:
        return frame(bytes([OP_PUB]) + struct.pack(">I", req) + s16(channel) + s16(reply_to) + payload)
    headers = bytes([5]) + b"churn" + s16(b"1")
    return frame(bytes([OP_PUB]) + struct.pack(">IBI", req, 0, 0) + s16(channel) + s16(reply_to)
                 + s16(headers) + payload)


def ack(delivery: int) -> bytes:
    return frame(bytes([OP_ACK]) + struct.pack(">Q", delivery))


def ping(token: int) -> bytes:
    return frame(bytes([OP_PING]) + struct.pack(">Q", token))


def describe(body: bytes) -> str:
    """An unexpected frame, for a failure message."""
    if body[0] == OP_ERR:
        code = struct.unpack_from(">H", body, 5)[0]
        return f"ERR {code} {body[7:].decode(errors='replace')!r}"
    return f"unexpected op {body[0]:#x}"


def read_str16(body: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from(">H", body, at)
    return body[at + 2:at + 2 + n], at + 2 + n


class Msg:
    """A MSG frame's fields that the soak looks at."""

    def __init__(self, body: bytes, version: int) -> None:
        (self.delivery,) = struct.unpack_from(">Q", body, 1)
        at = 10 if version == 1 else 18
        self.channel, at = read_str16(body, at)
        self.reply_to, at = read_str16(body, at)
        if version == 2:
            _, at = read_str16(body, at)
        self.payload = body[at:]


class Session:
    """One PB1 connection with a blocking socket, every read bounded by the cycle's deadline."""

    def __init__(self, port: int, source: str, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.version = 1

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_frame(self) -> bytes:
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack_from(">I", self.buf)
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return body
            data = self.sock.recv(65536)
            if not data:
                raise SoakFailure("the broker closed a connection the soak did not close")
            self.buf += data

    def expect(self, op: int) -> bytes:
        body = self.next_frame()
        if body[0] != op:
            raise SoakFailure(f"{describe(body)} where op {op:#x} was expected")
        return body

    def collect(self, oks: frozenset[int] = frozenset(), channels: frozenset[bytes] = frozenset(),
                pong: int | None = None) -> dict[bytes, "Msg"]:
        """Reads until an OK for each of `oks`, a MSG on each of `channels` and the PONG have
        come, in any order; MSGs on other channels (fan-out of other connections' PUBs to a
        wildcard this one holds) are skipped. Returns the MSGs by channel."""
        oks, msgs = set(oks), {}
        while oks or set(channels) - msgs.keys() or pong is not None:
            body = self.next_frame()
            if body[0] == OP_OK and struct.unpack_from(">I", body, 1)[0] in oks:
                oks.discard(struct.unpack_from(">I", body, 1)[0])
            elif body[0] == OP_MSG:
                msg = Msg(body, self.version)
                if msg.channel in channels:
                    msgs[msg.channel] = msg
            elif body[0] == OP_PONG and struct.unpack_from(">Q", body, 1)[0] == pong:
                pong = None
            else:
                raise SoakFailure(describe(body))
        return msgs

    def handshake(self, version: int, name: bytes, token: bytes) -> None:
        self.send(hello(version, name, token))
        welcome = self.expect(OP_WELCOME)
        self.version = welcome[1]

    def close_graceful(self) -> None:
        self.sock.close()

    def close_reset(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close_after_eof(self) -> None:
        """Half-close, then wait for the broker to close its side."""
        self.sock.shutdown(socket.SHUT_WR)
        while self.sock.recv(65536):
            pass
        self.sock.close()


# ---- one cycle -------------------------------------------------------------------------------


def run_cycle(i: int, port: int, sources: list[str], credentials: list[tuple[bytes, bytes]],
              timeout: float) -> None:
    """One churned connection; its shape comes from `i`, so a run is the same every time."""
    name, token = credentials[i % len(credentials)]
    version = 1 + i % 2
    session = Session(port, sources[i % len(sources)], timeout)
    shape = SHAPES[i % len(SHAPES)]
    inbox = b"/topic/_reply/churn-%d" % i
    own_queue = b"/queue/churn/q/%d" % i
    own_topic = b"/topic/churn/t/%d" % i
    manual = MANUAL_ACK if i % 3 == 0 else 0
    subs = [
        sub(1, own_topic),
        sub(2, own_queue, manual),
        sub(3, b"/queue/churn/shared/%d" % (i % 7)),
        sub(4, [b"/topic/churn/w/%d/*" % i, b"/topic/churn/>", b"/topic/churn/*/%d" % i][i % 3]),
        sub(5, inbox),
    ]
    if shape in (2, 3):
        # Close before reading anything: the broker may still be checking the token, or not
        # have read the SUBs yet.
        session.send(hello(version, name, token) + b"".join(subs))
        if shape == 2:
            session.close_graceful()
        else:
            session.close_reset()
        return
    session.handshake(version, name, token)
    session.send(b"".join(subs))
    session.collect(oks={1, 2, 3, 4, 5})
    if shape in (4, 5):
        request_reply(session, own_queue, inbox, manual, i)
    elif shape == 6:
        session.send(pub(session.version, 6, own_topic, b"", b"topic %d" % i))
        msg = session.collect(oks={6}, channels={own_topic})[own_topic]
        if msg.payload != b"topic %d" % i:
            raise SoakFailure(f"PUB on its own topic came back as {msg.payload!r}")
    if shape in (1, 5):
        session.close_reset()
    elif shape == 7:
        session.close_after_eof()
    else:
        session.close_graceful()


def request_reply(session: Session, own_queue: bytes, inbox: bytes, manual: int, i: int) -> None:
    """A request to its own queue with its inbox as reply-to, answered through that reply-to."""
    session.send(pub(session.version, 7, own_queue, inbox, b"request %d" % i))
    request = session.collect(oks={7}, channels={own_queue})[own_queue]
    if request.reply_to != inbox:
        raise SoakFailure(f"request: reply-to {request.reply_to!r}, wanted {inbox!r}")
    if manual:
        session.send(ack(request.delivery))
    session.send(pub(session.version, 8, request.reply_to, b"", b"reply %d" % i))
    reply = session.collect(oks={8}, channels={inbox})[inbox]
    if reply.payload != b"reply %d" % i:
        raise SoakFailure(f"reply: {reply.payload!r}")
    # The ACK has no answer: a PONG after it says it was read before an RST could discard it.
    session.send(ping(i))
    session.collect(pong=i)


def churn(first: int, count: int, port: int, sources: list[str],
          credentials: list[tuple[bytes, bytes]], concurrency: int, timeout: float) -> float:
    """Cycles first .. first+count-1 on `concurrency` threads; returns the seconds taken."""
    lock = threading.Lock()
    next_cycle = [first]
    errors: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                if errors or next_cycle[0] >= first + count:
                    return
                i = next_cycle[0]
                next_cycle[0] += 1
            try:
                run_cycle(i, port, sources, credentials, timeout)
            except (OSError, SoakFailure) as error:
                with lock:
                    errors.append(f"cycle {i}: {error}")
                return

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SoakFailure(errors[0])
    return time.monotonic() - started


# ---- the daemon and what it holds --------------------------------------------------------------


class Daemon:
    """paperboyd on 127.0.0.1 port 0 with --http on port 0, logging to a file."""

    def __init__(self, binary: str, log_path: Path, args: list[str], timeout: float) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "--port", "0", "--bind", "127.0.0.1", "--http", "127.0.0.1:0", *args],
                stdout=log, stderr=subprocess.STDOUT)
        self.port = self.http_port = 0
        end = time.monotonic() + timeout
        while not (self.port and self.http_port):
            text = log_path.read_text(errors="replace")
            for line in text.splitlines():
                if "server.listening" in line and "tls=true" not in line:
                    self.port = int(line.rsplit("port=", 1)[1].split()[0])
                elif "http.listening" in line:
                    self.http_port = int(line.rsplit("port=", 1)[1].split()[0])
            if self.process.poll() is not None or time.monotonic() > end:
                raise SoakFailure(f"paperboyd did not start; its log:\n{text[-3000:]}")
            time.sleep(0.02)

    def stats(self) -> dict:
        """GET /stats?connections=0. `Connection: close` and a read to EOF: the daemon has closed
        its side (and its descriptor) when this returns."""
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=10) as http:
            http.sendall(b"GET /stats?connections=0 HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := http.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SoakFailure(f"/stats answered {head.splitlines()[0]!r}")
        return json.loads(body)

    def status_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise SoakFailure(f"no {field} in /proc/{self.process.pid}/status")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def settle(daemon: Daemon, fds_at_start: int, deadline: float) -> dict:
    """Polls /stats until no connection is open, the daemon holds no more descriptors than it did
    at its start and its accounted memory is its arena's slab alone (or the deadline passes: the
    checks then name what stayed), then returns what the daemon holds. A session leaves /stats
    before its last buffers go (its reader and writer finish a turn later), so this waits."""
    end = time.monotonic() + deadline
    while True:
        stats = daemon.stats()
        open_now = sum(stats["server"]["connections"].values())
        fds = daemon.fds()
        held = stats["server"]["memory_bytes"]
        settled = open_now == 0 and fds <= fds_at_start and held in ARENA_SLAB_ONLY
        if settled or time.monotonic() > end:
            return {
                "open": open_now,
                "fds": fds,
                "rss_kib": daemon.status_kib("VmRSS"),
                "hwm_kib": daemon.status_kib("VmHWM"),
                "memory_bytes": stats["server"]["memory_bytes"],
                "channels": sorted(channel["name"] for channel in stats["channels"]),
                "connections_total": stats["server"]["connections_total"],
                "refusals": stats["server"]["refusals"],
            }
        time.sleep(0.05)


def round_trip(port: int, credentials: list[tuple[bytes, bytes]], timeout: float) -> None:
    """A fresh client still subscribes, publishes and receives its own message."""
    name, token = credentials[0]
    session = Session(port, "127.0.0.1", timeout)
    session.handshake(2, name, token)
    session.send(sub(1, b"/topic/churn/after"))
    session.collect(oks={1})
    session.send(pub(session.version, 2, b"/topic/churn/after", b"", b"still serving"))
    msg = session.collect(oks={2}, channels={b"/topic/churn/after"})[b"/topic/churn/after"]
    if msg.payload != b"still serving":
        raise SoakFailure("the round trip after the soak did not come back")
    session.close_graceful()


# ---- one mode ----------------------------------------------------------------------------------


def make_users(cli: str, directory: Path) -> tuple[list[str], list[tuple[bytes, bytes]]]:
    """A users file with USERS (each may publish and subscribe under /topic/churn and
    /queue/churn), hashed by `paperboy passwd`; returns the daemon flags and the credentials."""
    tables, credentials = [], []
    for user in USERS:
        token = f"{user}-token-{os.getpid()}"
        hashed = subprocess.run([cli, "passwd"], input=token.encode(), capture_output=True,
                                check=True).stdout.decode().strip()
        tables.append(f'[[user]]\nname = "{user}"\ntoken_hash = "{hashed}"\n'
                      f"publish = {PERMISSIONS}\nsubscribe = {PERMISSIONS}\n")
        credentials.append((user.encode(), token.encode()))
    users_file = directory / "users.toml"
    users_file.write_text("\n".join(tables))
    return ["--users", str(users_file)], credentials


def soak(mode: str, options: argparse.Namespace, directory: Path) -> dict:
    args = ["--max-connect-rate", "1000000", "--max-connect-rate-per-address", "1000000",
            "--max-connections-per-address", "10000"]
    credentials = [(b"churn-open", b"")]
    if mode == "users":
        user_args, credentials = make_users(options.cli, directory)
        args += user_args
    log_dir = Path(options.log_dir) if options.log_dir else directory
    daemon = Daemon(options.paperboyd, log_dir / f"paperboyd-{mode}.log", args, options.timeout)
    sources = [f"127.0.{1 + k // 250}.{1 + k % 250}" for k in range(options.addresses)]
    try:
        # Before any client: the listeners' descriptors and nothing else. (Read after an HTTP
        # request, the listener may not have closed that connection yet.)
        fds_at_start = daemon.fds()
        churn(0, options.warmup, daemon.port, sources, credentials, options.concurrency,
              options.timeout)
        before = settle(daemon, fds_at_start, options.timeout)
        seconds = churn(options.warmup, options.cycles, daemon.port, sources, credentials,
                        options.concurrency, options.timeout)
        after = settle(daemon, fds_at_start, options.timeout)
        round_trip(daemon.port, credentials, options.timeout)
        summary = {
            "mode": mode, "connections": options.cycles, "concurrency": options.concurrency,
            "seconds": round(seconds, 2),
            "connections_per_second": round(options.cycles / seconds),
            "rss_kib_before": before["rss_kib"], "rss_kib_after": after["rss_kib"],
            "rss_growth_kib": after["rss_kib"] - before["rss_kib"],
            "hwm_kib": after["hwm_kib"],
            "fds_before": before["fds"], "fds_after": after["fds"],
            "channels_before": len(before["channels"]), "channels_after": len(after["channels"]),
            "memory_bytes_before": before["memory_bytes"],
            "memory_bytes_after": after["memory_bytes"],
        }
        print(json.dumps(summary), flush=True)
        check(summary, before, after, options)
        return summary
    except SoakFailure as failure:
        raise SoakFailure(f"{mode}: {failure}\npaperboyd log:\n{daemon.log_tail()}") from None
    finally:
        daemon.stop()


def check(summary: dict, before: dict, after: dict, options: argparse.Namespace) -> None:
    failures = []
    if before["open"] or after["open"]:
        failures.append(f"connections still open: {before['open']} before, {after['open']} after")
    if after["fds"] != before["fds"]:
        failures.append(f"fds {before['fds']} -> {after['fds']}")
    if after["channels"] != before["channels"]:
        left = sorted(set(after["channels"]) - set(before["channels"]))
        failures.append(f"channels {len(before['channels'])} -> {len(after['channels'])}: {left[:10]}")
    for when, held in (("before", before["memory_bytes"]), ("after", after["memory_bytes"])):
        if held not in ARENA_SLAB_ONLY:
            failures.append(f"accounted memory {when}: {held} bytes, more than the arena's slab")
    # A connection reset before the broker accepted it is never counted (shape 3 may be).
    accepted = after["connections_total"] - before["connections_total"]
    reset_unread = sum(1 for i in range(options.warmup, options.warmup + options.cycles)
                       if SHAPES[i % len(SHAPES)] == 3)
    if not options.cycles - reset_unread <= accepted <= options.cycles:
        failures.append(f"{accepted} connections accepted, {options.cycles} made")
    if after["refusals"] != before["refusals"]:
        failures.append(f"refusals {before['refusals']} -> {after['refusals']}")
    if options.rss_bound_kib is not None and summary["rss_growth_kib"] > options.rss_bound_kib:
        failures.append(f"VmRSS grew {summary['rss_growth_kib']} KiB, bound {options.rss_bound_kib} KiB")
    if failures:
        raise SoakFailure("; ".join(failures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paperboyd", default=str(ROOT / "build/release/broker/paperboyd"),
                        help="the daemon (default: the release build's)")
    parser.add_argument("--cli", default=None,
                        help="paperboy CLI for `passwd` (default: beside --paperboyd's build)")
    parser.add_argument("--mode", choices=["open", "users", "both"], default="both")
    parser.add_argument("--cycles", type=int, default=10_000, help="churned connections measured")
    parser.add_argument("--warmup", type=int, default=3000,
                        help="churned connections before the first measurement (the allocator's "
                        "own growth levels off within a few thousand)")
    parser.add_argument("--concurrency", type=int, default=50, help="connections open at once")
    parser.add_argument("--addresses", type=int, default=500,
                        help="source addresses 127.0.x.y the connections come from")
    parser.add_argument("--rss-bound-kib", type=int, default=1536,
                        help="largest VmRSS growth allowed (KiB)")
    parser.add_argument("--no-rss-bound", dest="rss_bound_kib", action="store_const", const=None,
                        help="no VmRSS bound (sanitizer builds); every other check stays")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="deadline of each wait: a reply, the daemon's start, settling")
    parser.add_argument("--log-dir", default=None,
                        help="keep the daemons' logs here (default: a temporary directory)")
    parser.add_argument("--shapes", default=None,
                        help="comma-separated cycle shapes 0-7 to run (default: all; see run_cycle)")
    options = parser.parse_args()
    if options.shapes:
        SHAPES[:] = [int(shape) for shape in options.shapes.split(",")]
    if options.cli is None:
        options.cli = str(Path(options.paperboyd).resolve().parents[1] / "clients/paperboy")
    modes = ["open", "users"] if options.mode == "both" else [options.mode]
    try:
        with tempfile.TemporaryDirectory(prefix="churn-soak-") as directory:
            for mode in modes:
                soak(mode, options, Path(directory))
    except SoakFailure as failure:
        print(f"churn soak FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
