"""Test support: real paperboyd, billing-worker and newsstand (uvicorn) processes on free ports.

PAPERBOYD and BILLING_WORKER (set by ctest) name the binaries; both default to the debug build.
Each process logs to a file under the test's tmp directory, shown when a test fails.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Optional

import httpx
import pytest

from newsstand.datagen import generate

SERVICE_DIR = Path(__file__).resolve().parents[1]
ROOT = SERVICE_DIR.parents[1]
PAPERBOYD = os.environ.get("PAPERBOYD", str(ROOT / "build/debug/broker/paperboyd"))
BILLING_WORKER = os.environ.get(
    "BILLING_WORKER", str(ROOT / "build/debug/services/billing-worker/billing-worker"))
SEED = 11

# The browser test is a suite of its own (ctest newsstand_browser): collected only when asked.
collect_ignore = [] if os.environ.get("NEWSSTAND_BROWSER") else ["browser"]

# Under ASan and on a loaded 2-core machine everything is slower: deadlines are generous.
START_TIMEOUT = 30.0

DEFAULT_DEADLINE_S = 60.0


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    """Every async test has a deadline, so none can hang: ``@pytest.mark.deadline(seconds)``,
    else DEFAULT_DEADLINE_S. It wraps the test before pytest-asyncio runs it in its loop (this
    conftest registers after that plugin, so its wrapper runs first)."""
    test = pyfuncitem.obj
    if inspect.iscoroutinefunction(test):
        marker = pyfuncitem.get_closest_marker("deadline")
        seconds = float(marker.args[0]) if marker else DEFAULT_DEADLINE_S

        @functools.wraps(test)
        async def bounded(**kwargs: Any) -> Any:
            try:
                return await asyncio.wait_for(test(**kwargs), seconds)
            except asyncio.TimeoutError:
                pytest.fail(f"{pyfuncitem.name} did not finish within its {seconds:g} s deadline")

        pyfuncitem.obj = bounded
    yield


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "deadline(seconds): the async test fails after this long")


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0) -> None:
    """Wait for the async ``condition`` to hold, checking it every 20 ms."""
    end = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


class LoggedProcess:
    """A child process whose stdout and stderr go to a log file; ``start`` returns once the log
    matches ``ready`` (its first group, if any, is kept in ``ready_value``)."""

    def __init__(self, name: str, log_dir: Path, command: Callable[[], list[str]], ready: bytes,
                 env: Optional[dict[str, str]] = None) -> None:
        self.name = name
        self.log_dir = log_dir
        self.command = command
        self.ready = ready
        self.env = env
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.starts = 0
        self.ready_value = ""

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}-{self.starts}.log"

    def start(self) -> "LoggedProcess":
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env, cwd=SERVICE_DIR)
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            match = re.search(self.ready, self.log_path.read_bytes())
            if match:
                self.ready_value = match.group(1).decode() if match.groups() else ""
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not become ready; its log:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within the start timeout."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Newsstand:
    """One running newsstand: a broker, some billing workers and the app, on one database."""

    db_path: Path
    log_dir: Path
    totals_interval: float
    broker: LoggedProcess = field(init=False)
    workers: list[LoggedProcess] = field(default_factory=list)
    app: Optional[LoggedProcess] = None
    broker_port: int = 0

    def start_broker(self) -> None:
        """Start paperboyd: on a free port the first time, on the same port again after."""
        if not hasattr(self, "broker"):
            self.broker = LoggedProcess(
                "paperboyd", self.log_dir,
                lambda: [PAPERBOYD, "--bind", "127.0.0.1", "--port", str(self.broker_port)],
                rb"server\.listening[^\n]*\bport=(\d+)")
        self.broker.start()
        self.broker_port = int(self.broker.ready_value)

    def start_worker(self, *extra: str) -> LoggedProcess:
        name = f"billing-worker-{len(self.workers)}"
        worker = LoggedProcess(
            name, self.log_dir,
            lambda: [BILLING_WORKER, "--server", f"127.0.0.1:{self.broker_port}",
                     "--db", str(self.db_path), "--name", name, *extra],
            rb"worker\.serving").start()
        self.workers.append(worker)
        return worker

    def start_app(self) -> None:
        env = dict(os.environ, PYTHONPATH=f"{SERVICE_DIR}{os.pathsep}{ROOT / 'clients/python/src'}")
        self.app = LoggedProcess(
            "newsstand", self.log_dir,
            lambda: [sys.executable, "-m", "newsstand", "--broker", f"127.0.0.1:{self.broker_port}",
                     "--db", str(self.db_path), "--port", "0",
                     "--totals-interval", str(self.totals_interval)],
            rb"newsstand\.listening[^\n]*\bport=(\d+)", env=env).start()
        wait_healthy(self.url)

    @property
    def url(self) -> str:
        assert self.app is not None
        return f"http://127.0.0.1:{self.app.ready_value}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the newsstand database directly (the tests' source of truth)."""
        with sqlite3.connect(self.db_path, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def processes(self) -> list[LoggedProcess]:
        return [p for p in (self.app, *self.workers, getattr(self, "broker", None)) if p is not None]

    def stop(self) -> None:
        for process in self.processes():
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in self.processes())


def wait_healthy(url: str) -> None:
    """Until /healthz says the app is up and connected to the broker."""
    end = time.monotonic() + START_TIMEOUT
    while time.monotonic() < end:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}/healthz never answered 200")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated database, made once; each newsstand works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "newsstand.db"
    with sqlite3.connect(path) as db:
        generate(db, SEED)
    db.close()
    return path


def _newsstand(template_db: Path, log_dir: Path, workers: int, totals_interval: float = 0.3,
               worker_args: tuple[str, ...] = ()) -> Newsstand:
    log_dir.mkdir(parents=True, exist_ok=True)
    db_path = log_dir / "newsstand.db"
    shutil.copy(template_db, db_path)
    stand = Newsstand(db_path, log_dir, totals_interval)
    try:
        stand.start_broker()
        for _ in range(workers):
            stand.start_worker(*worker_args)
        stand.start_app()
    except BaseException:
        print(stand.logs())
        stand.stop()
        raise
    return stand


@pytest.fixture(scope="module")
def newsstand(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsstand]:
    """A newsstand shared by a module's tests: two billing workers, totals every 0.3 s."""
    stand = _newsstand(template_db, tmp_path_factory.mktemp("newsstand"), workers=2)
    yield stand
    stand.stop()


@pytest.fixture
def newsstand_factory(template_db: Path, tmp_path: Path) -> Iterator[Callable[..., Newsstand]]:
    """Newsstands of a test's own (for tests that kill things), stopped after it."""
    made: list[Newsstand] = []

    def make(workers: int, **options: Any) -> Newsstand:
        stand = _newsstand(template_db, tmp_path / f"stand-{len(made)}", workers, **options)
        made.append(stand)
        return stand

    make.made = made  # type: ignore[attr-defined]
    yield make
    for stand in made:
        stand.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report ends with the logs of the processes it used."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    stands = [funcargs["newsstand"]] if "newsstand" in funcargs else []
    stands += getattr(funcargs.get("newsstand_factory"), "made", [])
    for stand in stands:
        report.sections.append(("newsstand logs", stand.logs()))


def payables_cents(stand: Newsstand, dates: list[str]) -> dict[str, int]:
    """What the payables endpoint must answer, straight from the table: each date's payables
    from January 1st of its year up to it, in cents. One pass over the days' sums rather than a
    range query per date (200 of those cost seconds under load)."""
    cumulative: dict[str, int] = {}
    year, running = "", 0
    for day, cents in stand.query(
            "SELECT billing_date, SUM(amount_cents) FROM payables GROUP BY billing_date ORDER BY billing_date"):
        if day[:4] != year:
            year, running = day[:4], 0
        running += cents
        cumulative[day] = running
    return {d: cumulative[d] for d in dates}


def assert_payables(stand: Newsstand, dates: list[str], responses: list[httpx.Response]) -> None:
    """Every response is a 200 with its date's payables total, as SQL sums it."""
    assert [r.status_code for r in responses] == [200] * len(dates), [
        r.text for r in responses if r.status_code != 200]
    expected = payables_cents(stand, dates)
    for billing_date, response in zip(dates, responses):
        body = response.json()
        assert body["billing_date"] == billing_date
        assert round(body["total"] * 100) == expected[billing_date], billing_date


def http(stand: Newsstand, connections: int = 20) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stand.url, timeout=30.0,
                             limits=httpx.Limits(max_connections=connections))


class EventStream:
    """An SSE client: ``open`` returns once the app is listening (its ``: stream open`` comment),
    ``next`` gives the next ``data:`` event as JSON within a timeout."""

    def __init__(self, client: httpx.AsyncClient, path: str) -> None:
        self._client = client
        self._path = path
        self._context: Any = None
        self._lines: Optional[AsyncIterator[str]] = None

    async def __aenter__(self) -> "EventStream":
        self._context = self._client.stream("GET", self._path, timeout=httpx.Timeout(30.0, read=None))
        response = await asyncio.wait_for(self._context.__aenter__(), START_TIMEOUT)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.aiter_lines()
        # httpx 0.23 keeps each line's ending.
        first = await asyncio.wait_for(self._lines.__anext__(), START_TIMEOUT)
        assert first.rstrip("\r\n") == ": stream open"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._context.__aexit__(*exc_info)

    async def next(self, timeout: float = 20.0) -> Any:
        assert self._lines is not None
        while True:
            line = await asyncio.wait_for(self._lines.__anext__(), timeout)
            if line.startswith("data: "):
                return json.loads(line[len("data: "):].rstrip("\r\n"))
