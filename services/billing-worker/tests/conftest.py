"""Test support: a real paperboyd and real billing-worker processes on a small newsstand database.

PAPERBOYD and BILLING_WORKER (set by ctest) name the binaries; both default to the debug build.
The Python client comes from clients/python/src (PYTHONPATH, or found from this file). Every
process logs to a file in the test's tmp_path, shown when a test fails.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "clients/python/src"))

PAPERBOYD = os.environ.get("PAPERBOYD", str(ROOT / "build/debug/broker/paperboyd"))
BILLING_WORKER = os.environ.get(
    "BILLING_WORKER", str(ROOT / "build/debug/services/billing-worker/billing-worker")
)
SCHEMA = ROOT / "services/newsstand/schema.sql"

# Under ASan and on a loaded 2-core machine everything is slower; deadlines are generous.
START_TIMEOUT = 30.0

PAYABLES = "/queue/newsstand/billing/payables"
SHEETS = "/queue/newsstand/billing/sheets"
SHEETS_TOPIC = "/topic/newsstand/billing/sheets"

VENDORS = [(1, "Corner Kiosk"), (2, 'Station "Rail" News'), (3, "Kiosk, North")]
# (vendor, date, cents): across a year boundary on both sides, a leap day, and one day with two
# vendors and one vendor twice.
PAYABLE_ROWS = [
    (1, "2023-12-31", 70_000),
    (1, "2024-01-01", 1_234),
    (2, "2024-01-01", 99),
    (3, "2024-02-29", 500_000),
    (1, "2024-06-15", 12_345),
    (2, "2024-06-15", 1),
    (2, "2024-06-15", 10),
    (3, "2024-06-15", 250_050),
    (1, "2024-12-31", 7),
    (2, "2025-01-01", 333),
    (3, "2025-03-01", 100),
]

T = TypeVar("T")


def deadline(seconds: float) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Fail the (async) test if it has not finished within ``seconds``."""

    def wrap(test: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(test)
        async def run(*args: Any, **kwargs: Any) -> T:
            try:
                return await asyncio.wait_for(test(*args, **kwargs), seconds)
            except asyncio.TimeoutError:
                pytest.fail(f"{test.__name__} did not finish within its {seconds} s deadline")

        return run

    return wrap


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for ``condition`` to hold (checked every 10 ms)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def direct_total(db: Path, billing_date: str) -> Decimal:
    """The payables total straight from SQL, as the prototype's task computed it."""
    with sqlite3.connect(db) as conn:
        (cents,) = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM payables WHERE billing_date BETWEEN ? AND ?",
            (billing_date[:4] + "-01-01", billing_date),
        ).fetchone()
    return Decimal(cents) / 100


def make_database(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA.read_text())
        conn.executemany("INSERT INTO vendors VALUES (?, ?, '1 Main St', '555-0100')", VENDORS)
        conn.executemany(
            "INSERT INTO payables (vendor_id, billing_date, amount_cents) VALUES (?, ?, ?)",
            PAYABLE_ROWS,
        )
    return path


class Process:
    """A process logging to a file, whose log can be waited on."""

    def __init__(self, log_path: Path, argv: list[str]) -> None:
        self.log_path = log_path
        self.argv = argv
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, pattern: str, count: int = 1) -> re.Match[str]:
        """Block until the log holds ``count`` matches of ``pattern``; the last one."""
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            matches = list(re.finditer(pattern, self.log()))
            if len(matches) >= count:
                return matches[-1]
            assert self.process is not None
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"{self.argv[0]}: no {pattern!r} ×{count} in its log:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)


class Daemon(Process):
    """paperboyd on 127.0.0.1, on a free port; restartable on the same one."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir / "paperboyd.log", [])
        self.port = 0
        self.starts = 0

    def start(self) -> "Daemon":
        self.argv = [PAPERBOYD, "--port", str(self.port), "--bind", "127.0.0.1"]
        super().start()
        self.starts += 1
        match = self.wait_for_log(r"server\.listening[^\n]*\bport=(\d+)", self.starts)
        self.port = int(match.group(1))
        return self


class Worker(Process):
    """A billing-worker process, connected and serving both queues once started."""

    def __init__(self, log_path: Path, daemon: Daemon, db: Path, *args: str) -> None:
        super().__init__(
            log_path,
            [BILLING_WORKER, "--server", f"127.0.0.1:{daemon.port}", "--db", str(db), *args],
        )

    def start(self) -> "Worker":
        super().start()
        self.wait_for_log(r"worker\.serving")
        return self

    def terminate(self) -> int:
        """SIGTERM, and the exit status once it has drained."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=START_TIMEOUT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_database(tmp_path / "newsstand.db")


@pytest.fixture
def daemon(tmp_path: Path):  # type: ignore[no-untyped-def]
    daemon = Daemon(tmp_path).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def worker_factory(tmp_path: Path, daemon: Daemon, db: Path):  # type: ignore[no-untyped-def]
    """Starts billing workers on the test's broker and database: make(*extra_args)."""
    workers: list[Worker] = []

    def make(*args: str) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers)}.log", daemon, db, *args).start()
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Show the processes' logs of a failed test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "tmp_path" in item.funcargs:
        for log in sorted(Path(item.funcargs["tmp_path"]).glob("*.log")):
            report.sections.append((log.name, log.read_text(errors="replace")[-4000:]))
