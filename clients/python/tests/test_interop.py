"""Python and the `paperboy` CLI on one channel, both ways."""

from __future__ import annotations

import asyncio
import json
import os

import paperboy
import pytest

from conftest import PAPERBOY_CLI, Daemon, deadline, until

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


class Pb0Client:
    """A client of the legacy dialect, as the prototype speaks it: the first frame is the channel
    it subscribes to, then frame(channel) + frame(data) pairs publish."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received: list[bytes] = []
        self.task: "asyncio.Task[None] | None" = None

    @classmethod
    async def subscribe(cls, port: int, channel: bytes) -> "Pb0Client":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(len(channel).to_bytes(4, "big") + channel)
        client = cls(reader, writer)
        client.task = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        while True:
            length = int.from_bytes(await self.reader.readexactly(4), "big")
            self.received.append(await self.reader.readexactly(length))

    def publish(self, channel: bytes, data: bytes) -> None:
        for part in (channel, data):
            self.writer.write(len(part).to_bytes(4, "big") + part)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


@deadline(60)
async def test_python_cli_and_pb0_on_one_channel(daemon: Daemon) -> None:
    channel = "/topic/interop/all"
    pb0 = await Pb0Client.subscribe(daemon.port, channel.encode())
    listen = await asyncio.create_subprocess_exec(
        PAPERBOY_CLI, "listen", "--port", str(daemon.port), "-c", channel,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    cli_lines: list[bytes] = []

    async def read_cli() -> None:
        assert listen.stdout is not None
        async for line in listen.stdout:
            cli_lines.append(line.rstrip(b"\n"))

    cli_reader = asyncio.create_task(read_cli())
    try:
        async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
            sub = await pb.subscribe(channel)
            # Neither PB0 nor the CLI says when it has subscribed: probe until both hear one.
            probes = 0
            while not (any(m.startswith(b"probe") for m in pb0.received) and
                       any(m.startswith(b"probe") for m in cli_lines)):
                assert probes < 400, "the PB0 client and the CLI never received a probe"
                probes += 1
                await pb.publish(channel, b"probe-%d" % probes, confirm=True)
                await asyncio.sleep(0.05)

            await pb.publish(channel, b"from-python", confirm=True)
            await run_cli("send", "--port", str(daemon.port), "-c", channel, "-d", "from-cli", "--confirm")
            pb0.publish(channel.encode(), b"from-pb0")
            everyone = {b"from-python", b"from-cli", b"from-pb0"}

            got: set[bytes] = set()
            while got != everyone:
                msg = await sub.next_msg(20)
                if not msg.payload.startswith(b"probe"):
                    got.add(msg.payload)
            await until(lambda: everyone <= set(pb0.received), "the PB0 subscriber to hear everyone")
            await until(lambda: everyone <= set(cli_lines), "paperboy listen to hear everyone")
    finally:
        pb0.close()
        cli_reader.cancel()
        if listen.returncode is None:
            listen.kill()
        await listen.wait()


@deadline(60)
async def test_python_request_is_answered_by_cli_reply(daemon: Daemon) -> None:
    responder = await asyncio.create_subprocess_exec(
        PAPERBOY_CLI, "reply", "--port", str(daemon.port), "-c", "/queue/interop-echo", "-n", "3",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with await paperboy.connect("127.0.0.1", daemon.port) as pb:
            # Until the CLI has subscribed the broker says there is nobody to answer.
            for attempt in range(400):
                try:
                    first = await pb.request("/queue/interop-echo", b"echo-0", timeout=20)
                    break
                except paperboy.NoResponders:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("paperboy reply never subscribed")
            rest = await asyncio.gather(
                *(pb.request("/queue/interop-echo", b"echo-%d" % i, timeout=20) for i in (1, 2))
            )
            assert [m.payload for m in [first, *rest]] == [b"echo-0", b"echo-1", b"echo-2"]
        assert await asyncio.wait_for(responder.wait(), 20) == 0  # it answered its three and left
    finally:
        if responder.returncode is None:
            responder.kill()
            await responder.wait()
