"""``python3 -m newsstand --broker HOST:PORT --db PATH --port 8000``: the app under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

import uvicorn

from .app import create_app
from .config import parse_settings

log = logging.getLogger("newsstand")


def main() -> int:
    settings = parse_settings()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The socket is bound here, not by uvicorn, so that --port 0 can log the port it got.
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
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
