#!/usr/bin/env python3
"""The prototype's PB0 listener: subscribes once to a channel and prints every message.

PB0 is the prototype's whole protocol: every unit on the wire is a frame, a big-endian u32
length and that many bytes. The client's first frame is the one channel it subscribes to;
the server then sends it frame(data) for each message, with no channel. An empty channel
frame from the client ends the session. Standard library only (asyncio).
"""
import argparse
import asyncio
import struct
import sys


def frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return await reader.readexactly(length)


async def listen(host: str, port: int, channel: str, count: int | None) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(frame(channel.encode()))
    await writer.drain()
    print(f"subscribed to {channel}", file=sys.stderr, flush=True)
    received = 0
    try:
        while count is None or received < count:
            data = await read_frame(reader)
            sys.stdout.write(data.decode("utf-8", errors="replace") + "\n")
            sys.stdout.flush()
            received += 1
    except asyncio.IncompleteReadError:
        print("server closed the connection", file=sys.stderr, flush=True)
    writer.write(frame(b""))  # the empty channel frame: end of session
    try:
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except ConnectionError:
        pass
    return 0 if count is None or received == count else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="Print the messages of one PB0 channel.")
    parser.add_argument("channel", help="channel to subscribe to, e.g. /topic/news")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25000)
    parser.add_argument("--count", type=int, default=None, help="exit after this many messages")
    args = parser.parse_args()
    return asyncio.run(listen(args.host, args.port, args.channel, args.count))


if __name__ == "__main__":
    sys.exit(main())
