#!/usr/bin/env python3
"""The prototype's PB0 sender: publishes generated messages to a channel.

Like the prototype's senders it first subscribes to "/null" (a PB0 client's first frame is
always a subscription), then sends one pair frame(channel) frame(data) per message, and ends
the session with an empty channel frame. Message i is "message i", padded with dots to --size
bytes. Standard library only (asyncio).
"""
import argparse
import asyncio
import struct
import sys


def frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def message(i: int, size: int) -> bytes:
    text = f"message {i}".encode()
    return text + b"." * max(0, size - len(text))


async def send(host: str, port: int, channel: str, count: int, size: int, interval: float) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(frame(b"/null"))
    for i in range(count):
        writer.write(frame(channel.encode()) + frame(message(i, size)))
        await writer.drain()
        if interval > 0:
            await asyncio.sleep(interval)
    writer.write(frame(b""))
    await writer.drain()
    # The server closes the session after the empty frame; wait for that so that everything
    # sent has been read by it before this process exits.
    try:
        while await asyncio.wait_for(reader.read(65536), timeout=10):
            pass
    except (asyncio.TimeoutError, ConnectionError):
        print("server did not close the session", file=sys.stderr, flush=True)
        return 1
    writer.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Send generated messages to a PB0 channel.")
    parser.add_argument("channel", help="channel to publish to, e.g. /topic/news")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25000)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--size", type=int, default=0, help="pad each message to this many bytes")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between messages")
    args = parser.parse_args()
    return asyncio.run(send(args.host, args.port, args.channel, args.count, args.size, args.interval))


if __name__ == "__main__":
    sys.exit(main())
