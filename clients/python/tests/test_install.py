"""`pip install clients/python` works offline with Debian's setuptools, and what it installs is
the typed package that talks to the broker."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import Daemon, deadline

SOURCE = Path(__file__).resolve().parents[1]

ROUND_TRIP = """
import asyncio, sys, paperboy
assert paperboy.__file__.startswith(sys.argv[2]), paperboy.__file__
async def main():
    async with await paperboy.connect("127.0.0.1", int(sys.argv[1])) as pb:
        sub = await pb.subscribe("/queue/installed")
        await pb.publish("/queue/installed", b"installed", confirm=True)
        print((await sub.next_msg(20)).payload.decode())
asyncio.run(main())
"""


@pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="no pip (python3-pip)")
@deadline(120)
async def test_pip_installs_the_package_offline(daemon: Daemon, tmp_path: Path) -> None:
    # From a copy, so the build leaves nothing in the source tree.
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    target = tmp_path / "site"
    pip = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-index",
        "--target", str(target), str(source),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await pip.communicate()
    assert pip.returncode == 0, out.decode(errors="replace")
    assert (target / "paperboy" / "py.typed").exists()

    env = {**os.environ, "PYTHONPATH": str(target)}
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ROUND_TRIP, str(daemon.port), str(target), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await run.communicate()
    assert run.returncode == 0 and out.decode().strip() == "installed", out.decode(errors="replace")
