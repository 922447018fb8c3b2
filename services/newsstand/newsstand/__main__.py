"""``python3 -m newsstand --broker HOST:PORT --db PATH --port 8000``: the app under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

try:
    import paperboy  # noqa: F401 - checked here to say how to get it
except ImportError:
    sys.exit("newsstand: the paperboy client is not importable: run with "
             "PYTHONPATH=<repository>/clients/python/src, or pip install clients/python")
import uvicorn

from .app import create_app
from .config import parse_settings

log = logging.getLogger("newsstand")


def main() -> int:
    settings = parse_settings()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The socket is bound here, not by uvicorn, so that --port 0 can log the port it got. Its
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets that do, and without it every
    # response on a kept-alive connection waits 40 ms (Nagle behind the client's delayed ACK).
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(1024)
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", ws="websockets")
    server = uvicorn.Server(config)
    log.info("newsstand.listening host=%s port=%d", settings.host, sock.getsockname()[1])
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
