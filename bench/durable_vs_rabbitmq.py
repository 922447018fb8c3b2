#!/usr/bin/python3
"""Durable queues, same machine, same run: paperboyd --data-dir against paperboyd without it and
against RabbitMQ (a durable classic queue and a quorum queue, persistent messages, publisher
confirms), then the recovery time of a large durable backlog.

    bench/durable_vs_rabbitmq.py --build build/release --rounds 3 --seconds 5

Starts a durable paperboyd (--data-dir in a temporary directory under --work-dir, on the same
disk as RabbitMQ's data), a plain one, and a RabbitMQ node of its own (bench/newsstand/servers.py:
own ports, epmd and data directory; scripts/setup-bench-durable.sh installs it and rabbitmq-c).
Every round runs, in an order rotated each round:
  confirm  P publishers, up to W unconfirmed each, 128 B, one queue, one auto-ack consumer:
           confirmed msg/s and confirm p50/p99 (paperboy-bench confirm, paperboy-rabbit-bench)
  half     the same paced at half of this round's flat-out figure of the same broker: p99
  drain    a backlog of P x --backlog (RabbitMQ: --rabbit-backlog) messages consumed with manual
           ack, prefetch 100: msg/s
and at the end of each round the durable paperboyd once more at RabbitMQ classic's half-load
rate, so both p99s are taken at the same rate,
and it prints the rounds, the medians and the medians of the per-round ratios. Then --recovery
messages are published confirmed to a fresh durable paperboyd, which is killed (SIGKILL) and
restarted (and again, on a fresh one, with SIGTERM): the time from the restart to a
client's first delivery, and the daemon's log lines
about recovery. The bench clients run niced with --nice when other work shares the machine; the load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "newsstand"))
sys.path.insert(0, str(HERE.parent / "clients" / "python" / "src"))
from paperboy import codec  # noqa: E402
from servers import Service, free_port, start_rabbitmq, wait_listening  # noqa: E402

BACKLOG_ARGS = ["--channel-backlog", "20000000", "--channel-backlog-bytes", str(8 << 30)]


def run_json(cmd: list[str], nice: int) -> dict:
    argv = ["nice", "-n", str(nice), *cmd] if nice else cmd
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    lines = out.stdout.strip().splitlines()
    if not lines:
        sys.exit(f"durable_vs_rabbitmq: no output from {' '.join(cmd)}: {out.stderr.strip()}")
    figures = json.loads(lines[-1])
    if figures.get("error") or figures.get("error_count"):
        print(f"  note: {' '.join(cmd[:2])}: {figures.get('error') or figures.get('error_0')}", flush=True)
    return figures


def start_paperboyd(binary: str, work: Path, name: str, durable: bool) -> tuple[Service, int]:
    port = free_port()
    argv = [binary, "--port", str(port), *BACKLOG_ARGS]
    if durable:
        argv += ["--data-dir", str(work / f"{name}-data")]
    daemon = Service(name, argv, work / f"{name}.log")
    wait_listening(port, daemon.process, name)
    return daemon, port


def first_delivery(port: int, channel: str, started: float, timeout: float = 60) -> float | None:
    """Seconds from `started` until a consumer of `channel` got its first MSG; None if none came."""
    end = started + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.sendall(codec.encode_hello(1, "recovery-probe", "")
                          + codec.encode_sub(1, 0, 0, channel.encode()))
                buffer = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buffer += chunk
                    while len(buffer) >= 5:
                        (length,) = struct.unpack_from(">I", buffer)
                        if buffer[4] == codec.OP_MSG:
                            return time.monotonic() - started
                        if len(buffer) < 4 + length:
                            break
                        buffer = buffer[4 + length:]
        except OSError:
            time.sleep(0.005)
    return None


def recovery_lines(log: Path) -> list[str]:
    return [line.strip() for line in log.read_text(errors="replace").splitlines()
            if "recover" in line or "storage" in line or "journal" in line][-6:]


def measure_recovery(a: argparse.Namespace, paperboyd: str, bench: str, work: Path) -> None:
    per_publisher = a.recovery // a.pubs
    for how in ("SIGKILL", "SIGTERM"):
        name = f"recovery-{how.lower()}"
        daemon, port = start_paperboyd(paperboyd, work, name, durable=True)
        try:
            filled = run_json([bench, "confirm", "--port", str(port), "--channel", "bench.recovery",
                               "--no-consumer", "--pubs", str(a.pubs), "--window", str(a.window),
                               "--size", str(a.size), "--count", str(per_publisher), "--json"], a.nice)
            daemon.process.send_signal(getattr(signal, how))
            daemon.process.wait(timeout=60)
            argv = daemon.process.args
            started = time.monotonic()
            daemon = Service(name, argv, work / f"{name}.log")
            took = first_delivery(port, "/queue/bench.recovery", started)
            print(f"recovery after {how}: {filled['confirmed']} confirmed messages of {a.size} B; first "
                  + (f"delivery {took:.3f} s after the restart" if took is not None else
                     "delivery: none within 60 s (the messages are lost)"), flush=True)
            for line in recovery_lines(work / f"{name}.log"):
                print(f"  log: {line}")
        finally:
            daemon.stop()


def rounds(a: argparse.Namespace, paperboyd: str, bench: str, rabbit_bench: str | None, work: Path) -> None:
    durable, durable_port = start_paperboyd(paperboyd, work, "durable", durable=True)
    plain, plain_port = start_paperboyd(paperboyd, work, "plain", durable=False)
    services = [durable, plain]
    rabbit_port = None
    if rabbit_bench:
        rabbit, rabbit_port, helpers = start_rabbitmq(work)
        services += [rabbit, *helpers]
        time.sleep(3)  # the AMQP port opens before the node finished booting
    try:
        common = ["--pubs", str(a.pubs), "--window", str(a.window), "--size", str(a.size), "--json"]
        brokers = {"paperboy-durable": [bench, "--port", str(durable_port)],
                   "paperboy-plain": [bench, "--port", str(plain_port)]}
        if rabbit_port:
            for queue_type in ("classic", "quorum"):
                brokers[f"rabbitmq-{queue_type}"] = [rabbit_bench, "--port", str(rabbit_port),
                                                     "--queue-type", queue_type,
                                                     "--queue", f"bench.{queue_type}"]
        figures: dict[str, list[dict]] = {}
        for r in range(a.rounds):
            names = list(brokers)
            names = names[r % len(names):] + names[:r % len(names)]
            got: dict[str, dict] = {}
            for name in names:
                full = run_json([*brokers[name], "confirm", "--seconds", str(a.seconds), *common,
                                 *unconsumed(a, name, r, "full")], a.nice)
                half_rate = full["confirm_rate"] / 2
                half = run_json([*brokers[name], "confirm", "--seconds", str(a.seconds),
                                 "--rate", str(int(half_rate)), *common,
                                 *unconsumed(a, name, r, "half")], a.nice)
                backlog = a.rabbit_backlog if name.startswith("rabbitmq") else a.backlog
                drain = run_json([*brokers[name], "drain", "--count", str(backlog), "--ack", "manual",
                                  "--prefetch", "100", *common], a.nice)
                got[name] = {"rate": full["confirm_rate"], "p50": full["confirm_p50_ms"],
                             "p99": full["confirm_p99_ms"], "half_rate": half["confirm_rate"],
                             "half_p50": half["confirm_p50_ms"], "half_p99": half["confirm_p99_ms"],
                             "consume": drain["consume_rate"]}
                g = got[name]
                print(f"round {r + 1} {name:17} confirm {g['rate']:9.0f} msg/s p50 {g['p50']:7.2f} "
                      f"p99 {g['p99']:7.2f} ms | half {g['half_rate']:9.0f} msg/s p99 {g['half_p99']:7.2f} ms"
                      f" | drain {g['consume']:9.0f} msg/s", flush=True)
            if "rabbitmq-classic" in got:
                # paperboy at RabbitMQ's half-load rate: the p99 of both at the same rate.
                same = run_json([*brokers["paperboy-durable"], "confirm", "--seconds", str(a.seconds),
                                 "--rate", str(int(got["rabbitmq-classic"]["half_rate"])), *common,
                                 *unconsumed(a, "paperboy-durable", r, "same")], a.nice)
                got["paperboy-durable"]["same_p99"] = same["confirm_p99_ms"]
                print(f"round {r + 1} paperboy-durable at rabbitmq-classic's half rate "
                      f"{same['confirm_rate']:9.0f} msg/s p99 {same['confirm_p99_ms']:7.2f} ms", flush=True)
            for name, g in got.items():
                figures.setdefault(name, []).append(g)
            figures.setdefault("ratios", []).append(ratios(got))
        print(f"\nmedians of {a.rounds} rounds ({a.pubs} publishers x {a.window} unconfirmed, {a.size} B, "
              f"{'no consumer' if a.no_consumer else 'one auto-ack consumer'}; drain: {a.pubs} x {a.backlog} (RabbitMQ {a.pubs} x {a.rabbit_backlog}), "
              "manual ack, prefetch 100):")
        for name in brokers:
            rows = figures[name]
            med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
            print(f"{name:17} confirm {med['rate']:9.0f} msg/s p50 {med['p50']:7.2f} p99 {med['p99']:7.2f} ms"
                  f" | half load p50 {med['half_p50']:7.2f} p99 {med['half_p99']:7.2f} ms"
                  f" | drain {med['consume']:9.0f} msg/s")
        print("median of the per-round ratios:")
        for key in figures["ratios"][0]:
            print(f"  {key:50} {statistics.median(row[key] for row in figures['ratios']):8.2f}")
    finally:
        for service in services:
            service.stop()


def unconsumed(a: argparse.Namespace, name: str, round_number: int, run: str) -> list[str]:
    """--no-consumer: the confirm runs' extra arguments, a queue of its own for each run (nobody
    empties it; RabbitMQ's bench deletes and declares its queue afresh anyway)."""
    if not a.no_consumer:
        return []
    if name.startswith("rabbitmq"):
        return ["--no-consumer"]
    return ["--no-consumer", "--channel", f"bench.unconsumed.{round_number}.{run}"]


def ratios(got: dict[str, dict]) -> dict[str, float]:
    def div(x: float, y: float) -> float:
        return x / y if y else float("nan")

    d, p = got["paperboy-durable"], got["paperboy-plain"]
    out = {"durable/plain confirmed msg/s": div(d["rate"], p["rate"]),
           "durable/plain drain msg/s (manual ack, prefetch 100)": div(d["consume"], p["consume"])}
    for queue_type in ("classic", "quorum"):
        r = got.get(f"rabbitmq-{queue_type}")
        if r:
            out[f"durable/rabbitmq-{queue_type} confirmed msg/s"] = div(d["rate"], r["rate"])
            out[f"rabbitmq-{queue_type}/durable p99 flat out"] = div(r["p99"], d["p99"])
            out[f"rabbitmq-{queue_type}/durable p99 at half load"] = div(r["half_p99"], d["half_p99"])
            if queue_type == "classic" and "same_p99" in d:
                out["rabbitmq-classic/durable p99, both at classic's half rate"] = div(r["half_p99"], d["same_p99"])
            out[f"durable/rabbitmq-{queue_type} drain msg/s"] = div(d["consume"], r["consume"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release", help="build tree with the binaries")
    ap.add_argument("--work-dir", default="/var/tmp", help="where the data directories go (a real disk)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--pubs", type=int, default=4)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--backlog", type=int, default=100_000, help="drain: messages per publisher")
    ap.add_argument("--rabbit-backlog", type=int, default=10_000,
                    help="drain against RabbitMQ: messages per publisher (it fills at ~10k msg/s)")
    ap.add_argument("--recovery", type=int, default=1_000_000, help="messages in the recovery test; 0: skip")
    ap.add_argument("--no-consumer", action="store_true",
                    help="confirm runs without a consumer: every message is stored (RabbitMQ's classic "
                         "queue may confirm a message its consumer took without writing it)")
    ap.add_argument("--no-rabbitmq", action="store_true", help="paperboy only")
    ap.add_argument("--no-rounds", action="store_true", help="only the recovery test")
    ap.add_argument("--nice", type=int, default=0, help="run the bench clients with this nice value")
    a = ap.parse_args()

    paperboyd = os.path.join(a.build, "broker/paperboyd")
    bench = os.path.join(a.build, "bench/paperboy-bench")
    rabbit_bench = None if a.no_rabbitmq else os.path.join(a.build, "bench/paperboy-rabbit-bench")
    if rabbit_bench and not os.path.exists(rabbit_bench):
        sys.exit(f"{rabbit_bench} is missing: install librabbitmq-dev (scripts/setup-bench-durable.sh) and "
                 "rebuild, or pass --no-rabbitmq")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="paperboy-durable-bench-", dir=a.work_dir) as directory:
        work = Path(directory)
        if not a.no_rounds:
            rounds(a, paperboyd, bench, rabbit_bench, work)
        if a.recovery > 0:
            measure_recovery(a, paperboyd, bench, work)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
