"""Test support: the real paperboyd on a port of its own, and a deadline for every test.

PAPERBOYD (set by ctest) names the daemon binary, PAPERBOY_CLI the `paperboy` CLI; both default
to the debug build. Every daemon logs to a file in the test's tmp_path, shown when a test fails.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAPERBOYD = os.environ.get("PAPERBOYD", str(ROOT / "build/debug/broker/paperboyd"))
PAPERBOY_CLI = os.environ.get("PAPERBOY_CLI", str(ROOT / "build/debug/clients/paperboy"))

# Under ASan and on a loaded 2-core machine everything is slower; deadlines are generous.
START_TIMEOUT = 30.0

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


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for ``condition`` to hold (checked each loop turn and every 10 ms)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


class Daemon:
    """A paperboyd process on 127.0.0.1; restartable on the same port."""

    def __init__(self, log_dir: Path, args: list[str]) -> None:
        self.log_dir = log_dir
        self.args = args
        self.port = 0
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"paperboyd-{self.starts}.log"

    def start(self) -> "Daemon":
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [PAPERBOYD, "--port", str(self.port), "--bind", "127.0.0.1", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            match = re.search(rb"server\.listening[^\n]*\bport=(\d+)", self.log_path.read_bytes())
            if match:
                self.port = int(match.group(1))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"paperboyd did not start listening; its log:\n{self.log_tail()}")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def terminate(self) -> None:
        """SIGTERM, and wait for the orderly shutdown to end."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT)

    def restart(self) -> None:
        """Start again on the same port."""
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture
def daemon_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    daemons: list[Daemon] = []

    def make(*args: str) -> Daemon:
        daemon = Daemon(tmp_path, list(args)).start()
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.stop()


@pytest.fixture
def daemon(daemon_factory) -> Daemon:  # type: ignore[no-untyped-def]
    return daemon_factory()


class Events:
    """Connection events of one client, as asyncio.Events plus counts."""

    def __init__(self) -> None:
        self.disconnected = asyncio.Event()
        self.reconnected = asyncio.Event()
        self.gave_up = asyncio.Event()
        self.disconnects = 0
        self.reconnects = 0
        self.errors: list[Exception] = []

    def options(self) -> dict[str, Any]:
        return {
            "on_disconnected": self._on_disconnected,
            "on_reconnected": self._on_reconnected,
            "on_gave_up": lambda error: self.gave_up.set(),
            "on_error": self.errors.append,
        }

    def _on_disconnected(self, error: Exception) -> None:
        self.disconnects += 1
        self.reconnected.clear()
        self.disconnected.set()

    def _on_reconnected(self) -> None:
        self.reconnects += 1
        self.disconnected.clear()
        self.reconnected.set()
