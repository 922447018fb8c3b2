"""FastAPI dependencies: the app's shared objects, kept on ``app.state`` by ``create_app``."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from .broker import BrokerLink
from .db import Database
from .hub import EventHub
from .totals import TotalsPublisher


def database(conn: HTTPConnection) -> Database:
    return conn.app.state.db  # type: ignore[no-any-return]


def broker(conn: HTTPConnection) -> BrokerLink:
    return conn.app.state.broker  # type: ignore[no-any-return]


def hub(conn: HTTPConnection) -> EventHub:
    return conn.app.state.hub  # type: ignore[no-any-return]


def totals(conn: HTTPConnection) -> TotalsPublisher:
    return conn.app.state.totals  # type: ignore[no-any-return]
