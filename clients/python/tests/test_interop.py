"""Python and the `paperboy` CLI on one channel, both ways."""

from __future__ import annotations

import asyncio
import json
import os

import paperboy
import pytest

from conftest import PAPERBOY_CLI, Daemon, deadline

pytestmark = pytest.mark.skipif(
    not os.access(PAPERBOY_CLI, os.X_OK), reason=f"no paperboy CLI at {PAPERBOY_CLI} (PAPERBOY_CLI)"
)


async def run_cli(*args: str, stdin: bytes = b"") -> bytes:
    process = await asyncio.create_subprocess_exec(
        PAPERBOY_CLI, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 30)
    assert process.returncode == 0, err.decode(errors="replace")
    return out


@deadline(60)
async def test_python_publishes_and_cli_listen_receives(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        for i in range(3):
            await pb.publish("/queue/interop", b"from-python-%d" % i, headers={"k": "v"}, confirm=True)
        out = await run_cli("listen", "--port", str(daemon.port), "-c", "/queue/interop", "-n", "3", "-f", "json")
        lines = [json.loads(line) for line in out.decode().splitlines()]
        assert [line["payload"] for line in lines] == [f"from-python-{i}" for i in range(3)]
        assert all(line["channel"] == "/queue/interop" for line in lines)


@deadline(60)
async def test_cli_send_reaches_a_python_subscriber(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        sub = await pb.subscribe("/topic/interop/>")
        await run_cli("send", "--port", str(daemon.port), "-c", "/topic/interop/cli", "--confirm",
                      "-H", "origin=cli", stdin=b"one\ntwo\n")
        got = [await sub.next_msg(20) for _ in range(2)]
        assert [(m.channel, m.payload) for m in got] == [("/topic/interop/cli", b"one"), ("/topic/interop/cli", b"two")]
        assert got[0].headers == {"origin": "cli"}


@deadline(60)
async def test_cli_request_is_answered_by_a_python_responder(daemon: Daemon) -> None:
    async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
        sub = await pb.subscribe("/queue/interop-rpc")

        async def respond() -> None:
            msg = await sub.next_msg(30)
            await pb.reply(msg, b"pong:" + msg.payload)

        responder = asyncio.create_task(respond())
        out = await run_cli("request", "--port", str(daemon.port), "-c", "/queue/interop-rpc", "-d", "ping")
        await responder
        assert out.strip() == b"pong:ping"
