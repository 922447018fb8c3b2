"""The app's settings, from the command line with environment variables as defaults."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

DEFAULT_BROKER = "127.0.0.1:25000"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to run; built by ``parse_settings`` or directly in tests."""

    brokers: tuple[tuple[str, int], ...]
    db: Path
    totals_interval: float = 5.0
    host: str = "127.0.0.1"
    port: int = 8000


def parse_brokers(text: str) -> tuple[tuple[str, int], ...]:
    """``host:port[,host:port...]`` as (host, port) pairs; raises ValueError on a bad one."""
    brokers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"broker address {item!r} is not host:port")
        brokers.append((host, int(port)))
    if not brokers:
        raise ValueError("no broker address given")
    return tuple(brokers)


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0.01 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be from 0.01 to 3600 seconds, got {text}")
    return value


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse ``argv``; each flag defaults to its NEWSSTAND_* environment variable."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python3 -m newsstand", description="The newsstand's web app on paperboy."
    )
    parser.add_argument("--broker", default=env("NEWSSTAND_BROKER", DEFAULT_BROKER),
                        help="paperboyd address(es), host:port[,host:port...], tried in turn "
                             "(env NEWSSTAND_BROKER, default %(default)s)")
    parser.add_argument("--db", default=env("NEWSSTAND_DB"), required=env("NEWSSTAND_DB") is None,
                        type=Path, help="the newsstand SQLite database (env NEWSSTAND_DB)")
    parser.add_argument("--totals-interval", type=_positive_float,
                        default=env("NEWSSTAND_TOTALS_INTERVAL", "5"),
                        help="seconds between subscription totals (env NEWSSTAND_TOTALS_INTERVAL, "
                             "default %(default)s)")
    parser.add_argument("--host", default=env("NEWSSTAND_HOST", "127.0.0.1"),
                        help="HTTP address to listen on (env NEWSSTAND_HOST, default %(default)s)")
    parser.add_argument("--port", type=int, default=int(env("NEWSSTAND_PORT", "8000")),
                        help="HTTP port; 0 picks a free one and logs it (env NEWSSTAND_PORT, "
                             "default %(default)s)")
    args = parser.parse_args(argv)
    try:
        brokers = parse_brokers(args.broker)
    except ValueError as error:
        parser.error(str(error))
    if not args.db.exists():
        parser.error(f"--db {args.db}: no such file (make it with python3 -m newsstand.datagen)")
    return Settings(brokers=brokers, db=args.db, totals_interval=float(args.totals_interval),
                    host=args.host, port=args.port)
