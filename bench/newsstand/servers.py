"""The processes a bench round talks to, each started as the current user on free ports and
stopped with the bench: RabbitMQ, Redis and Celery workers for the prototype's path, paperboyd and
billing workers for paperboy's. Every process logs to a file in the bench's work directory."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

START_TIMEOUT = 60.0
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {START_TIMEOUT} s")


def wait_for_log(path: Path, pattern: str, process: subprocess.Popen[bytes], what: str) -> re.Match[str]:
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:
        match = re.search(pattern, path.read_text(errors="replace") if path.exists() else "")
        if match:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{what}: no {pattern!r} in {path}")


class Service:
    """One process (and the session it leads), stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], log: Path, env: Optional[dict[str, str]] = None) -> None:
        self.name = name
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass


def start_rabbitmq(work: Path) -> tuple[Service, int, list[Service]]:
    """A RabbitMQ node of our own: its own node name, ports, epmd, data and logs under ``work``.
    Returns it, its AMQP port, and the epmd it needs (stopped with it)."""
    server = shutil.which("rabbitmq-server", path="/usr/lib/rabbitmq/bin") or shutil.which("rabbitmq-server")
    if server is None:
        raise RuntimeError("rabbitmq-server is not installed (scripts/setup-bench-newsstand.sh)")
    base = work / "rabbitmq"
    base.mkdir()
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbitmq.conf").write_text("loopback_users = none\n")
    (base / "env.conf").write_text("")
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    env = dict(
        os.environ,
        HOME=str(base),
        ERL_EPMD_PORT=str(epmd_port),
        RABBITMQ_NODENAME=f"pbbench{port}@localhost",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(port),
        RABBITMQ_DIST_PORT=str(dist_port),
        RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
        RABBITMQ_LOG_BASE=str(base / "log"),
        RABBITMQ_CONFIG_FILE=str(base / "rabbitmq"),
        RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
        RABBITMQ_CONF_ENV_FILE=str(base / "env.conf"),
        RABBITMQ_PID_FILE=str(base / "rabbitmq.pid"),
    )
    # Our own epmd, on our own port, so a system RabbitMQ (or none) is never touched.
    epmd = Service("epmd", ["epmd", "-port", str(epmd_port)], work / "epmd.log", env)
    wait_listening(epmd_port, epmd.process, "epmd")
    rabbit = Service("rabbitmq", [server], work / "rabbitmq.log", env)
    wait_listening(port, rabbit.process, "rabbitmq-server")
    return rabbit, port, [epmd]


def start_redis(work: Path) -> tuple[Service, int]:
    port = free_port()
    redis = Service(
        "redis",
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(work)],
        work / "redis.log",
    )
    wait_listening(port, redis.process, "redis-server")
    return redis, port


def start_celery_workers(work: Path, count: int, env: dict[str, str]) -> list[Service]:
    workers = []
    for n in range(count):
        log = work / f"celery-{n}.log"
        worker = Service(
            f"celery-{n}",
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--concurrency", "1",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{n}@%h"],
            log,
            dict(env, PYTHONPATH=str(HERE)),
        )
        wait_for_log(log, r"ready\.", worker.process, worker.name)
        workers.append(worker)
    return workers


def start_paperboyd(work: Path, binary: str) -> tuple[Service, int]:
    log = work / "paperboyd.log"
    daemon = Service("paperboyd", [binary, "--port", "0", "--bind", "127.0.0.1"], log)
    match = wait_for_log(log, r"server\.listening[^\n]*\bport=(\d+)", daemon.process, "paperboyd")
    return daemon, int(match.group(1))


def start_billing_workers(work: Path, binary: str, port: int, db: Path, count: int, prefetch: int) -> list[Service]:
    workers = []
    for n in range(count):
        log = work / f"billing-worker-{n}.log"
        worker = Service(
            f"billing-worker-{n}",
            [binary, "--server", f"127.0.0.1:{port}", "--db", str(db), "--prefetch", str(prefetch),
             "--name", f"billing-worker-{n}"],
            log,
        )
        wait_for_log(log, r"worker\.serving", worker.process, worker.name)
        workers.append(worker)
    return workers


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` and of its live descendants, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def start_app(work: Path, app_dir: Path, broker_port: int, db: Path) -> tuple[Service, int]:
    """The newsstand app (``python3 -m newsstand``) under uvicorn on a free port."""
    log = work / "newsstand.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(app_dir), str(HERE.parents[1] / "clients/python/src")]))
    app = Service(
        "newsstand",
        [sys.executable, "-m", "newsstand", "--broker", f"127.0.0.1:{broker_port}", "--db", str(db), "--port", "0"],
        log,
        env,
    )
    match = wait_for_log(log, r"newsstand\.listening[^\n]*\bport=(\d+)", app.process, "newsstand app")
    return app, int(match.group(1))
