"""One TCP connection to the broker: its transport events, and the HELLO/WELCOME exchange.

Until WELCOME the connection reads the handshake itself; after it every read goes to the client
that owns it. A connection the client has replaced keeps calling into the client, which ignores
it (the client compares it with its current one).
"""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING, NamedTuple, Optional

from . import codec
from .errors import PROTOCOL, ConnectionLost, Error, server_error

if TYPE_CHECKING:
    from .client import Client

# The transport may hold this much unsent before publish() waits for the socket.
WRITE_HIGH_WATER = 1024 * 1024
WRITE_LOW_WATER = 256 * 1024
# Frames before WELCOME (which gives max_payload) are small.
HANDSHAKE_MAX_FRAME = 64 * 1024


class Welcome(NamedTuple):
    version: int
    max_payload: int
    server_id: str
    server_version: str


class Connection(asyncio.Protocol):
    """Forwards one connection's transport events to the client; reads WELCOME itself."""

    def __init__(self, client: "Client", loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.transport: Optional[asyncio.Transport] = None
        self.closed: "asyncio.Future[None]" = loop.create_future()
        self.welcome: "asyncio.Future[Welcome]" = loop.create_future()
        self.leftover = b""  # read after WELCOME, before the client took over

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(WRITE_HIGH_WATER, WRITE_LOW_WATER)

    def data_received(self, data: bytes) -> None:
        if self.welcome.done():
            if self.client._proto is self:
                self.client._on_data(data)
            else:
                self.leftover += data
            return
        self.leftover += data
        self._read_welcome()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._refuse(ConnectionLost(f"connection closed during handshake: {exc}"))
        self.client._on_connection_lost(self, exc)

    def pause_writing(self) -> None:
        self.client._write_paused(self, True)

    def resume_writing(self) -> None:
        self.client._write_paused(self, False)

    def _refuse(self, error: Error) -> None:
        if not self.welcome.done():
            self.welcome.set_exception(error)
            self.welcome.exception()  # retrieved: whoever waited may have given up

    def _read_welcome(self) -> None:
        buf = self.leftover
        if len(buf) < 4:
            return
        (length,) = codec.U32.unpack_from(buf, 0)
        if length > HANDSHAKE_MAX_FRAME:
            self._refuse(Error("the peer did not answer HELLO with a PB1 frame (not a paperboyd?)", PROTOCOL))
            return
        if len(buf) < 4 + length:
            return
        self.leftover = buf[4 + length :]
        op = buf[4]
        try:
            if op == codec.OP_WELCOME:
                version, max_payload, id_len = codec.WELCOME_HEAD.unpack_from(buf, 5)
                server_id = buf[11 : 11 + id_len].decode("utf-8", "replace")
                server_version = ""
                if version >= 2:
                    (sv_len,) = codec.U16.unpack_from(buf, 11 + id_len)
                    server_version = buf[13 + id_len : 13 + id_len + sv_len].decode("utf-8", "replace")
                self.welcome.set_result(Welcome(version, max_payload, server_id, server_version))
            elif op == codec.OP_ERR:
                _, code = codec.ERR_HEAD.unpack_from(buf, 5)
                text = buf[11 : 4 + length].decode("utf-8", "replace")
                self._refuse(server_error(code, text, "the broker refused HELLO"))
            else:
                self._refuse(Error(f"op {op} instead of WELCOME", PROTOCOL))
        except (struct.error, ValueError) as exc:
            self._refuse(Error(f"malformed answer to HELLO: {exc}", PROTOCOL))
