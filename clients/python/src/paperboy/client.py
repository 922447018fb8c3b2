"""The asyncio client: one connection at a time, reconnected behind the application's back.

Shape (after nats.py): the event loop's protocol callbacks parse what arrives, many frames per
read; everything sent is appended to one bytearray and written once per loop turn (or as soon as
it is large), so publishing costs no system call per message. A lost connection starts a
reconnect task that dials the servers in turn with exponential backoff and full jitter, sends
the subscriptions again in the order they were made, then what was published meanwhile.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import os
import random
import ssl as _ssl
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Sequence, Union

from . import codec
from .channels import REPLY_PREFIX, matches
from .codec import (
    OP_BLOCKED,
    OP_ERR,
    OP_GAP,
    OP_MSG,
    OP_OK,
    OP_PING,
    OP_PONG,
    OP_UNBLOCKED,
)
from .errors import (
    FRAME_TOO_LARGE,
    KEEPS_CONNECTION,
    PROTOCOL,
    UNSUPPORTED_VERSION,
    ConnectionLost,
    Error,
    NotAuthorized,
    OfflineBufferFull,
    Timeout,
    server_error,
)
from .connection import HANDSHAKE_MAX_FRAME, Connection, Welcome
from .message import Message, held_bytes
from .subscription import GapHandler, Subscription

log = logging.getLogger("paperboy")

Server = Union[str, "tuple[str, int]"]
Callback = Callable[..., Any]
Handler = Callable[[Message], Awaitable[Any]]

# A write is issued once this much is queued, even before the loop turn ends.
FLUSH_BYTES = 64 * 1024
# Bytes of a publish counted against the offline buffer besides payload, channel and headers.
PUB_OVERHEAD = 32

_LEN = codec.U32.unpack_from
_MSG2 = codec.MSG2_HEAD.unpack_from
_MSG1 = codec.MSG1_HEAD.unpack_from
_U16 = codec.U16.unpack_from
_LEN_PACK = codec.U32.pack


@dataclass
class Options:
    """Connection settings; see ``connect`` for what each means."""

    name: str = ""
    token: str = ""
    reconnect: bool = True
    max_reconnect_attempts: Optional[int] = None
    reconnect_initial_delay: float = 0.1
    reconnect_max_delay: float = 5.0
    connect_timeout: float = 5.0
    ping_interval: float = 20.0
    ping_timeout: float = 10.0
    offline_buffer_bytes: int = 8 * 1024 * 1024
    resend_unconfirmed: bool = True
    max_pending_messages: int = 65_536
    max_pending_bytes: int = 64 * 1024 * 1024
    protocol_version: int = 2
    ssl: Optional[_ssl.SSLContext] = None
    server_hostname: Optional[str] = None
    on_disconnected: Optional[Callback] = None
    on_reconnected: Optional[Callback] = None
    on_gave_up: Optional[Callback] = None
    on_error: Optional[Callback] = None
    on_flow_control: Optional[Callback] = None


@dataclass
class _Publish:
    """A publish the client must still send: made while disconnected, or confirmed but not
    confirmed when the connection was lost."""

    channel: bytes
    payload: bytes
    reply_to: bytes
    header_block: bytes
    ttl_ms: int
    flags: int
    confirm: Optional["asyncio.Future[None]"]
    size: int


def _parse_server(server: Server) -> "tuple[str, int]":
    if isinstance(server, tuple):
        return server[0], int(server[1])
    host, _, port = server.rpartition(":")
    return host.strip("[]"), int(port)


class Client:
    """A connection to paperboyd that survives the broker's restarts. Make one with
    ``await paperboy.connect(...)``; use it as ``async with``."""

    def __init__(self, servers: Sequence["tuple[str, int]"], options: Options) -> None:
        self._loop = asyncio.get_running_loop()
        self._servers = list(servers)
        self._server_at = 0
        self._options = options
        self._proto: Optional[Connection] = None
        self._transport: Optional[asyncio.Transport] = None
        self._version = 0
        self._max_payload = 0
        self._max_frame = HANDSHAKE_MAX_FRAME
        self.server_id = ""
        self.server_version = ""
        self._connection = 0  # counts connections; deliveries carry the one they came on
        self._closed = False
        self._draining = False
        self._gave_up: Optional[BaseException] = None
        # Sending.
        self._out = bytearray()
        self._flush_scheduled = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._pub_prefixes: dict[str, bytes] = {}
        self._last_req = 0
        self._pending: dict[int, Any] = {}  # req -> _Publish | ("sub", sub, fut) | ("unsub", fut) | ("req", corr)
        self._offline: deque[_Publish] = deque()
        self._offline_bytes = 0
        # Receiving.
        self._inbuf = b""
        self._subs: dict[str, Subscription] = {}
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self._channel_names: dict[bytes, str] = {}
        self._paused_by: Optional[Subscription] = None
        self._last_read = 0.0  # loop time of the last bytes from the broker
        # Requests.
        self._inbox = ""
        self._inbox_prefix = ""
        self._inbox_ready: Optional[asyncio.Future[None]] = None
        self._requests: dict[str, asyncio.Future[Message]] = {}
        self._last_correlation = 0
        self.blocked_channels: set[str] = set()
        self._pongs: dict[int, asyncio.Future[None]] = {}
        self._last_ping = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect_task: Optional[asyncio.Task[None]] = None
        self._keepalive_task: Optional[asyncio.Task[None]] = None

    # -- public API -------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._proto is not None and not self._closed

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def protocol_version(self) -> int:
        """The PB1 version of the current (or last) connection."""
        return self._version

    @property
    def max_payload(self) -> int:
        return self._max_payload

    @property
    def offline_buffered_bytes(self) -> int:
        """Bytes of publishes waiting for the connection to come back."""
        return self._offline_bytes

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def publish(
        self,
        channel: str,
        payload: Union[bytes, bytearray, memoryview, str],
        *,
        headers: Optional[codec.Headers] = None,
        ttl: Optional[float] = None,
        reply_to: Optional[str] = None,
        confirm: bool = False,
    ) -> None:
        """Publish ``payload`` on ``channel``. With ``confirm`` it returns once the broker said
        OK (and raises its refusal); otherwise once the message is queued to be written. While
        disconnected the message waits in the offline buffer; past its bound this raises
        ``OfflineBufferFull`` at once. ``ttl`` (seconds) and ``headers`` need version 2."""
        if type(payload) is not bytes:
            payload = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        if len(payload) > self._max_payload:
            self._refuse_payload(len(payload))
        if confirm or headers or ttl or reply_to or self._proto is None or self._draining:
            return await self._publish_full(channel, payload, headers, ttl, reply_to, confirm)
        prefix = self._pub_prefixes.get(channel)
        if prefix is None:
            prefix = self._pub_prefix(channel)
        out = self._out
        out += _LEN_PACK(len(prefix) + len(payload))
        out += prefix
        out += payload
        if len(out) >= FLUSH_BYTES:
            self._flush()
            if not self._writable.is_set():
                await self._wait_writable()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    async def subscribe(
        self,
        channel: str,
        *,
        manual_ack: bool = False,
        prefetch: int = 0,
        on_gap: Optional[GapHandler] = None,
        max_pending_messages: Optional[int] = None,
        max_pending_bytes: Optional[int] = None,
        handler: Optional[Handler] = None,
    ) -> Subscription:
        """Subscribe to a channel or a ``/topic`` wildcard pattern. Returns once the broker
        confirmed it (or, while disconnected, at once: it is made on reconnect). With
        ``handler``, a task of the client awaits ``handler(msg)`` for each message in turn
        (manual-ack handlers ack themselves); otherwise iterate the subscription."""
        self._check_open()
        if channel in self._subs:
            raise Error(f"this client already subscribes to {channel}")
        raw = codec.name_bytes(channel, "channel name")
        if not 0 <= prefetch <= 0xFFFF:
            raise Error(f"prefetch {prefetch} is not 0 to 65535")
        sub = Subscription(
            self,
            channel,
            manual_ack,
            prefetch,
            on_gap,
            max_pending_messages or self._options.max_pending_messages,
            max_pending_bytes or self._options.max_pending_bytes,
        )
        self._subs[channel] = sub
        self._routes.clear()
        if self._proto is not None:
            done = self._loop.create_future()
            self._send_sub(sub, raw, done)
            try:
                await done
            except BaseException:
                if self._subs.get(channel) is sub:
                    del self._subs[channel]
                    self._routes.clear()
                sub._end(keep_pending=False)
                raise
        if handler is not None:
            sub._handler_task = self._loop.create_task(_run_handler(sub, handler))
        return sub

    async def request(
        self,
        channel: str,
        payload: Union[bytes, str],
        timeout: float = 5.0,
        *,
        headers: Optional[codec.Headers] = None,
    ) -> Message:
        """Send a request and return the first reply. Raises ``NoResponders`` when nobody
        subscribes to ``channel`` (version 2), ``Timeout``, or ``ConnectionLost`` when the
        connection is lost before the reply (or is down when this is called)."""
        self._check_open()
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if len(payload) > self._max_payload:
            self._refuse_payload(len(payload))
        deadline = self._loop.time() + timeout
        if self._proto is None:
            raise ConnectionLost(f"not connected: the request on {channel} was not sent")
        try:
            await asyncio.wait_for(self._ensure_inbox(), timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"subscribing the reply inbox for the request on {channel}") from None
        if self._proto is None:
            raise ConnectionLost(f"connection lost: the request on {channel} was not sent")
        self._last_correlation += 1
        correlation = str(self._last_correlation)
        reply = self._loop.create_future()
        self._requests[correlation] = reply
        try:
            flags, ttl_ms = 0, 0
            if self._version >= 2:
                # Nobody to answer: refused at once. Nobody waiting any more: the broker drops it.
                flags = codec.PUB_FLAG_REQUIRE_SUBSCRIBER
                ttl_ms = max(1, math.ceil(timeout * 1000))
            header_block = self._header_block(headers)
            req = self._next_req()
            self._pending[req] = ("req", correlation)
            self._write(
                codec.encode_pub(
                    self._version,
                    req,
                    flags,
                    ttl_ms,
                    codec.name_bytes(channel, "channel name"),
                    (self._inbox_prefix + correlation).encode(),
                    header_block,
                    payload,
                )
            )
            try:
                return await asyncio.wait_for(reply, max(0.0, deadline - self._loop.time()))
            except asyncio.TimeoutError:
                raise Timeout(f"no reply to the request on {channel} within {timeout} s") from None
        finally:
            self._requests.pop(correlation, None)

    async def reply(self, msg: Message, payload: Union[bytes, str], **kwargs: Any) -> None:
        """Answer a request: publish ``payload`` to ``msg.reply_to``."""
        if not msg.reply_to:
            raise Error(f"cannot reply to the message on {msg.channel}: it has no reply_to")
        await self.publish(msg.reply_to, payload, **kwargs)

    async def flush(self, timeout: float = 10.0) -> None:
        """Return once the broker has processed everything sent before (a PING round trip)."""
        if self._closed:
            raise ConnectionLost("the client is closed")
        if self._proto is None:
            raise ConnectionLost("not connected")
        pong = self._ping()
        try:
            await asyncio.wait_for(asyncio.shield(pong), timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"no PONG within {timeout} s") from None

    async def drain(self, timeout: float = 30.0) -> None:
        """Leave gracefully: stop every subscription, let the application finish and ack what it
        was handed, hand it what it already received (auto-ack), flush and confirm what was
        published, then close. Raises ``Timeout`` (after closing) if that took too long."""
        if self._closed or self._draining:
            return
        self._draining = True
        deadline = self._loop.time() + timeout
        try:
            await asyncio.wait_for(self._drain_steps(), timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise Timeout(f"drain did not finish within {timeout} s") from None
        await self.close(max(0.1, deadline - self._loop.time()))

    async def close(self, timeout: float = 5.0) -> None:
        """Close now: what is queued is written, the subscriptions end, anything waiting fails
        with ``ConnectionLost``."""
        if self._closed:
            return
        self._closed = True
        handlers = [s._handler_task for s in self._subs.values() if s._handler_task is not None]
        tasks = [
            task
            for task in (self._reconnect_task, self._keepalive_task, *handlers)
            if task is not None and task is not asyncio.current_task()
        ]
        for task in tasks:
            task.cancel()
        proto = self._proto
        self._proto = None
        self._fail_everything(ConnectionLost("the client was closed"))
        for sub in self._subs.values():
            sub._end()
        if proto is not None and proto.transport is not None:
            if self._out:
                proto.transport.write(bytes(self._out))
                self._out.clear()
            proto.transport.close()
            try:
                await asyncio.wait_for(asyncio.shield(proto.closed), timeout)
            except asyncio.TimeoutError:
                proto.transport.abort()
        # Nothing of this client may outlive close() (an event loop closing after it would
        # destroy a pending task).
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- connecting -----------------------------------------------------------------------------

    async def _start(self) -> None:
        """The first connection: each server once; the last failure is raised."""
        failure: Optional[BaseException] = None
        for _ in self._servers:
            try:
                await self._open(self._next_server())
                return
            except NotAuthorized:
                raise
            except (OSError, Error, asyncio.TimeoutError) as exc:
                failure = exc
        raise ConnectionLost(f"could not connect to any of {self._servers}: {failure}") from failure

    def _next_server(self) -> "tuple[str, int]":
        server = self._servers[self._server_at % len(self._servers)]
        self._server_at += 1
        return server

    async def _open(self, server: "tuple[str, int]") -> None:
        version = self._options.protocol_version
        try:
            await self._handshake(server, version)
        except Error as exc:
            # A version-1 broker refuses any other version with ERR 9 and closes: ask again.
            if exc.code != UNSUPPORTED_VERSION or version == 1:
                raise
            await self._handshake(server, 1)

    async def _handshake(self, server: "tuple[str, int]", version: int) -> None:
        host, port = server
        timeout = self._options.connect_timeout
        proto = Connection(self, self._loop)
        try:
            # TLS (every attempt, reconnects too): the handshake is part of the connect, under
            # the same timeout; the certificate must name server_hostname, else the host.
            tls = self._options.ssl
            await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: proto,
                    host,
                    port,
                    ssl=tls,
                    server_hostname=(self._options.server_hostname or host) if tls else None,
                ),
                timeout,
            )
            assert proto.transport is not None
            proto.transport.write(codec.encode_hello(version, self._options.name, self._options.token))
            welcome = await asyncio.wait_for(asyncio.shield(proto.welcome), timeout)
        except BaseException:
            if proto.transport is not None:
                proto.transport.abort()
            raise
        # The broker answers in the newest version both speak, never a newer one than asked for.
        if not 1 <= welcome.version <= version:
            proto.transport.abort()
            raise Error(
                f"{host}:{port} answered in version {welcome.version} to version {version}",
                UNSUPPORTED_VERSION,
            )
        self._established(proto, welcome)

    def _established(self, proto: Connection, welcome: Welcome) -> None:
        """The connection is up: subscriptions first, in order, then what waited, then the rest."""
        assert proto.transport is not None
        version, max_payload = welcome.version, welcome.max_payload
        self.server_id, self.server_version = welcome.server_id, welcome.server_version
        self._proto = proto
        self._transport = proto.transport
        self._connection += 1
        if version != self._version:
            self._pub_prefixes.clear()
        self._version = version
        self._max_payload = max_payload
        self._max_frame = max_payload + codec.FRAME_ALLOWANCE
        self._out = bytearray()
        self._writable.set()
        self._last_read = self._loop.time()
        self._inbuf = b""
        self.blocked_channels.clear()
        if self._inbox:
            self._send_sub(None, self._inbox.encode(), None)
        for sub in self._subs.values():
            if not sub._unsubscribed:
                self._send_sub(sub, sub.channel.encode(), None)
        while self._offline:
            item = self._offline.popleft()
            self._offline_bytes -= item.size
            self._send_publish(item)
        self._flush()
        if self._paused_by is not None:
            proto.transport.pause_reading()
        self._keepalive_task = self._loop.create_task(self._keepalive(proto))
        leftover, proto.leftover = proto.leftover, b""
        if leftover:
            self._on_data(leftover)

    async def _reconnect(self, cause: BaseException) -> None:
        opts = self._options
        attempt = 0
        while not self._closed:
            if opts.max_reconnect_attempts is not None and attempt >= opts.max_reconnect_attempts:
                self._give_up(ConnectionLost(f"gave up after {attempt} reconnect attempts: {cause}"))
                return
            # Full jitter, as the C++ client: a uniform delay up to the exponential ceiling, so that
            # the clients of a restarted broker do not all come back at the same instant.
            ceiling = min(opts.reconnect_max_delay, opts.reconnect_initial_delay * 2 ** min(attempt, 30))
            await asyncio.sleep(random.uniform(0, ceiling))
            attempt += 1
            try:
                await self._open(self._next_server())
            except NotAuthorized as exc:
                self._give_up(exc)
                return
            except (OSError, Error, asyncio.TimeoutError) as exc:
                cause = exc
                continue
            self._reconnect_task = None
            self._call_back(opts.on_reconnected)
            return

    def _give_up(self, error: BaseException) -> None:
        self._gave_up = error
        self._closed = True
        self._fail_everything(error)
        for sub in self._subs.values():
            sub._end(error if isinstance(error, ConnectionLost) else ConnectionLost(str(error)))
        self._call_back(self._options.on_gave_up, error)

    # -- losing the connection ------------------------------------------------------------------

    def _on_connection_lost(self, proto: Connection, exc: Optional[Exception]) -> None:
        if proto is self._proto:
            self._lose(ConnectionLost(f"connection lost: {exc or 'closed by the broker'}"))

    def _lose(self, error: Error) -> None:
        proto = self._proto
        if proto is None:
            return
        self._proto = None
        self._transport = None
        if proto.transport is not None:
            proto.transport.abort()
        self._pongs_failed(error)
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None
        self._out = bytearray()
        self._flush_scheduled = False
        self._writable.set()
        # Bytes read but held back by a full subscription are ours (auto-ack and topic messages
        # are not sent again): deliver them past the bound, once, rather than lose them.
        rest, self._inbuf = self._inbuf, b""
        if rest:
            try:
                self._parse(rest, bounded=False)
            except (struct.error, IndexError, ValueError):
                pass  # the connection is going anyway; what parsed before the bad frame stays
        # A drain keeps reconnecting too: what it waits to flush needs a connection.
        retry = self._options.reconnect
        self._requeue_in_flight(error, retry)
        for sub in self._subs.values():
            sub._forget_unacked()
        if self._paused_by is not None and (self._paused_by._ended or self._paused_by._has_room_again()):
            self._paused_by = None
        self._call_back(self._options.on_disconnected, error)
        if retry:
            self._reconnect_task = self._loop.create_task(self._reconnect(error))
        else:
            self._give_up(error)

    def _requeue_in_flight(self, error: Error, retry: bool) -> None:
        """Requests fail; subscriptions are made again on reconnect; confirmed publishes are sent
        again (``resend_unconfirmed``) ahead of what was published while disconnected, or fail."""
        pending, self._pending = self._pending, {}
        resend: list[_Publish] = []
        for entry in pending.values():
            if isinstance(entry, _Publish):
                if retry and self._options.resend_unconfirmed:
                    resend.append(entry)
                elif entry.confirm is not None and not entry.confirm.done():
                    entry.confirm.set_exception(ConnectionLost(f"unconfirmed publish: {error}"))
            elif entry[0] == "sub" and entry[2] is not None and not retry:
                if not entry[2].done():
                    entry[2].set_exception(error)
            elif entry[0] == "sub" and entry[2] is not None:
                # Made again on reconnect; its subscribe() returns then.
                entry[1]._resubscribed = entry[2]
            elif entry[0] == "unsub" and not entry[1].done():
                entry[1].set_result(None)  # the broker forgot it with the connection
            elif entry[0] == "inbox":
                # The requests waiting for it are in flight too; the next one makes a new inbox.
                self._inbox_failed(ConnectionLost(f"the request's connection was lost: {error}"))
        for item in reversed(resend):
            self._offline.appendleft(item)
            self._offline_bytes += item.size
        for reply in self._requests.values():
            if not reply.done():
                reply.set_exception(ConnectionLost(f"the request's connection was lost: {error}"))
        if not retry and self._inbox_ready is not None and not self._inbox_ready.done():
            self._inbox_failed(error)

    def _fail_everything(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if isinstance(entry, _Publish):
                future = entry.confirm
            elif entry[0] == "sub":
                future = entry[2]
            elif entry[0] == "unsub":
                future = entry[1]
            else:
                continue  # requests and the inbox are failed below
            if future is not None and not future.done():
                future.set_exception(error)
        for item in self._offline:
            if item.confirm is not None and not item.confirm.done():
                item.confirm.set_exception(error)
        self._offline.clear()
        self._offline_bytes = 0
        for reply in self._requests.values():
            if not reply.done():
                reply.set_exception(error)
        if self._inbox_ready is not None and not self._inbox_ready.done():
            self._inbox_failed(error)

    # -- keepalive ------------------------------------------------------------------------------

    async def _keepalive(self, proto: Connection) -> None:
        """PING after ``ping_interval`` without a byte from the broker; nothing back within
        ``ping_timeout`` counts as a lost connection. Skipped while the client itself has stopped
        reading (a full subscription): then silence is ours, not the broker's."""
        interval, timeout = self._options.ping_interval, self._options.ping_timeout
        while proto is self._proto:
            idle = self._loop.time() - self._last_read
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            if self._paused_by is not None:
                await asyncio.sleep(interval)
                continue
            sent = self._loop.time()
            self._ping()
            await asyncio.sleep(timeout)
            if proto is not self._proto:
                return
            if self._last_read < sent and self._paused_by is None:
                self._lose(ConnectionLost(f"no answer to PING within {timeout} s"))
                return

    # -- sending --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._gave_up is not None:
            raise ConnectionLost(f"the client gave up reconnecting: {self._gave_up}")
        if self._closed:
            raise ConnectionLost("the client is closed")
        if self._draining:
            raise Error("the client is draining")

    def _refuse_payload(self, size: int) -> None:
        # Sent, it would make the broker close the connection (ERR 2).
        raise Error(
            f"payload of {size} bytes is over the broker's max_payload ({self._max_payload})",
            FRAME_TOO_LARGE,
        )

    def _next_req(self) -> int:
        self._last_req = self._last_req % 0xFFFFFFFF + 1  # 0 means "no answer wanted"
        return self._last_req

    def _write(self, frame: bytes) -> None:
        self._out += frame
        if len(self._out) >= FLUSH_BYTES:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out or self._proto is None:
            return
        # Hand the buffer over rather than copy it: the transport may keep a view of it.
        data, self._out = self._out, bytearray()
        assert self._transport is not None
        self._transport.write(data)

    def _pub_prefix(self, channel: str) -> bytes:
        # Bounded: a responder publishes to a new reply channel for every request.
        if len(self._pub_prefixes) >= 1024:
            self._pub_prefixes.clear()
        prefix = codec.pub_prefix(self._version, codec.name_bytes(channel, "channel name"))
        self._pub_prefixes[channel] = prefix
        return prefix

    def _ping(self) -> "asyncio.Future[None]":
        self._last_ping += 1
        pong = self._pongs[self._last_ping] = self._loop.create_future()
        self._write(codec.encode_u64_op(OP_PING, self._last_ping))
        return pong

    def _pongs_failed(self, error: BaseException) -> None:
        pongs, self._pongs = self._pongs, {}
        for pong in pongs.values():
            if not pong.done():
                pong.set_exception(error)
                pong.exception()

    def _write_paused(self, proto: Connection, paused: bool) -> None:
        if proto is not self._proto and paused:
            return
        if paused:
            self._writable.clear()
        else:
            self._writable.set()

    async def _wait_writable(self) -> None:
        proto = self._proto
        await self._writable.wait()
        if proto is not self._proto:
            return  # the publish is lost with the connection, like any unconfirmed one

    def _header_block(self, headers: Optional[codec.Headers]) -> bytes:
        if not headers:
            return b""
        if self._version < 2:
            raise Error("headers need PB1 version 2; this broker speaks version 1")
        return codec.encode_header_block(headers)

    async def _publish_full(
        self,
        channel: str,
        payload: bytes,
        headers: Optional[codec.Headers],
        ttl: Optional[float],
        reply_to: Optional[str],
        confirm: bool,
    ) -> None:
        self._check_open()
        if ttl and self._version < 2:
            raise Error("ttl needs PB1 version 2; this broker speaks version 1")
        raw_channel = codec.name_bytes(channel, "channel name")
        raw_reply = codec.name_bytes(reply_to, "reply_to") if reply_to else b""
        header_block = self._header_block(headers)
        ttl_ms = max(1, math.ceil(ttl * 1000)) if ttl else 0
        done = self._loop.create_future() if confirm else None
        size = len(payload) + len(raw_channel) + len(raw_reply) + len(header_block) + PUB_OVERHEAD
        item = _Publish(raw_channel, payload, raw_reply, header_block, ttl_ms, 0, done, size)
        if self._proto is None:
            if not self._options.reconnect:
                raise ConnectionLost("not connected")
            if self._offline_bytes + size > self._options.offline_buffer_bytes:
                raise OfflineBufferFull(
                    f"the offline buffer is full ({self._offline_bytes} of "
                    f"{self._options.offline_buffer_bytes} bytes): publish on {channel} refused"
                )
            self._offline.append(item)
            self._offline_bytes += size
        else:
            self._send_publish(item)
            if not self._writable.is_set():
                await self._wait_writable()
        if done is not None:
            await done

    def _send_publish(self, item: _Publish) -> None:
        req = 0
        if item.confirm is not None:
            if item.confirm.done():
                return  # its caller stopped waiting (cancelled)
            req = self._next_req()
            self._pending[req] = item
        if self._version < 2 and (item.header_block or item.ttl_ms):
            error = Error("headers and ttl need PB1 version 2; the broker now speaks version 1")
            self._pending.pop(req, None)
            if item.confirm is not None:
                item.confirm.set_exception(error)
            else:
                self._report(error)
            return
        self._write(
            codec.encode_pub(
                self._version,
                req,
                item.flags,
                item.ttl_ms,
                item.channel,
                item.reply_to,
                item.header_block,
                item.payload,
            )
        )

    def _send_sub(self, sub: Optional[Subscription], raw: bytes, done: Optional[asyncio.Future[None]]) -> None:
        req = self._next_req()
        if sub is None:
            self._pending[req] = ("inbox", self._inbox_ready)
            self._write(codec.encode_sub(req, 0, 0, raw))
            return
        if done is None:
            done, sub._resubscribed = sub._resubscribed, None
        self._pending[req] = ("sub", sub, done)
        flags = codec.SUB_FLAG_MANUAL_ACK if sub.manual_ack else 0
        self._write(codec.encode_sub(req, flags, sub.prefetch, raw))

    async def _unsubscribe(self, sub: Subscription) -> None:
        # The subscription keeps receiving until the broker's OK: what the broker wrote before it
        # processed the UNSUB is ours if auto-ack (manual-ack deliveries it gives back). That is
        # taken past the bound, since the OK must be read behind it; it is at most what the
        # socket and the broker's send queue held.
        if self._subs.get(sub.channel) is not sub or sub._unsubscribed:
            return
        sub._unsubscribed = True
        if sub.manual_ack:
            sub._end(keep_pending=False)
        if self._paused_by is sub:
            self._consumed(sub)
        try:
            if self._proto is not None:
                done = self._loop.create_future()
                req = self._next_req()
                self._pending[req] = ("unsub", done)
                self._write(codec.encode_unsub(req, codec.name_bytes(sub.channel, "channel name")))
                await done
        finally:
            if self._subs.get(sub.channel) is sub:
                del self._subs[sub.channel]
                self._routes.clear()
            sub._end(keep_pending=not sub.manual_ack)

    def _settle(self, delivery: int, connection: int, ack: bool) -> bool:
        # An id from an earlier connection could name another message on this one.
        if connection != self._connection or self._proto is None:
            return False
        self._write(codec.encode_u64_op(codec.OP_ACK if ack else codec.OP_NACK, delivery))
        return True

    async def _ensure_inbox(self) -> None:
        if self._inbox_ready is None or (self._inbox_ready.done() and self._inbox_ready.exception()):
            self._inbox = REPLY_PREFIX + os.urandom(16).hex()  # unguessable: it is the only guard
            self._inbox_prefix = self._inbox + "/"
            self._inbox_ready = self._loop.create_future()
            self._send_sub(None, self._inbox.encode(), None)
        await asyncio.shield(self._inbox_ready)

    def _inbox_failed(self, error: BaseException) -> None:
        ready = self._inbox_ready
        self._inbox = self._inbox_prefix = ""
        if ready is not None and not ready.done():
            ready.set_exception(error)
            ready.exception()  # retrieved: a request that gave up waiting must not leave a warning

    # -- receiving ------------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self._last_read = self._loop.time()
        if self._inbuf:
            data = self._inbuf + data
            self._inbuf = b""
        self._parse_or_lose(data)

    def _parse_or_lose(self, data: bytes) -> None:
        try:
            self._parse(data)
        except (struct.error, IndexError, ValueError) as exc:
            self._inbuf = b""
            self._lose(ConnectionLost(f"malformed frame from the broker: {exc}", PROTOCOL))

    def _parse(self, buf: bytes, bounded: bool = True) -> None:
        """Every complete frame in ``buf``; the rest waits for more bytes. Stops early when a
        subscription is full, keeping the unparsed bytes until the application catches up."""
        off, n = 0, len(buf)
        v2 = self._version >= 2
        names = self._channel_names
        routes = self._routes
        while n - off >= 4:
            (length,) = _LEN(buf, off)
            end = off + 4 + length
            if end > n:
                if length > self._max_frame:
                    self._lose(ConnectionLost(f"frame of {length} bytes from the broker is over the limit", PROTOCOL))
                    return
                break
            if length == 0:
                self._lose(ConnectionLost("empty frame from the broker", PROTOCOL))
                return
            op = buf[off + 4]
            if op != OP_MSG:
                self._on_control(op, buf, off + 5, end)
                if self._proto is None and bounded:
                    return
                off = end
                continue
            if v2:
                delivery, flags, published_at, clen = _MSG2(buf, off + 5)
                at = off + 24
            else:
                delivery, flags, clen = _MSG1(buf, off + 5)
                published_at = 0
                at = off + 16
            raw = buf[at : at + clen]
            channel = names.get(raw)
            if channel is None:
                channel = raw.decode("utf-8", "surrogateescape")
                if len(names) < 4096:
                    names[raw] = channel
            at += clen
            (rlen,) = _U16(buf, at)
            reply_to = buf[at + 2 : at + 2 + rlen].decode("utf-8", "surrogateescape") if rlen else ""
            at += 2 + rlen
            if v2:
                (hlen,) = _U16(buf, at)
                header_block = buf[at + 2 : at + 2 + hlen] if hlen else b""
                at += 2 + hlen
            else:
                header_block = b""
            targets = routes.get(channel)
            if targets is None:
                targets = self._route(channel)
            if targets:
                held = held_bytes(channel, end - at, reply_to, header_block)
                for sub in targets:
                    if bounded and sub._is_full(held) and not sub._unsubscribed:
                        self._pause_reading(sub)
                        self._inbuf = buf[off:]
                        return
                msg = Message(
                    channel, buf[at:end], reply_to, header_block, published_at,
                    bool(flags & 1), delivery, self if delivery else None, self._connection,
                )
                for sub in targets:
                    if not (sub.manual_ack and sub._unsubscribed):
                        sub._push(msg)
            elif self._inbox_prefix and channel.startswith(self._inbox_prefix):
                reply = self._requests.get(channel[len(self._inbox_prefix) :])
                if reply is not None and not reply.done():
                    reply.set_result(
                        Message(channel, buf[at:end], reply_to, header_block, published_at,
                                bool(flags & 1), 0, None, self._connection)
                    )
            off = end
        if off < n:
            self._inbuf = buf[off:]

    def _route(self, channel: str) -> tuple[Subscription, ...]:
        targets = tuple(s for name, s in self._subs.items() if matches(name, channel))
        if len(self._routes) > 4096:
            self._routes.clear()
        self._routes[channel] = targets
        return targets

    def _on_control(self, op: int, buf: bytes, at: int, end: int) -> None:
        if op == OP_OK:
            (req,) = codec.U32.unpack_from(buf, at)
            self._answered(req, None)
        elif op == OP_ERR:
            req, code = codec.ERR_HEAD.unpack_from(buf, at)
            text = buf[at + 6 : end].decode("utf-8", "replace")
            if req != 0 and req in self._pending:
                self._answered(req, server_error(code, text))
            elif code in KEEPS_CONNECTION:
                self._report(server_error(code, text))
            else:
                # The broker closes after it; remember why.
                self._lose(ConnectionLost(f"the broker closed the connection: {server_error(code, text)}", code))
        elif op == OP_GAP:
            dropped, clen = codec.GAP_HEAD.unpack_from(buf, at)
            channel = buf[at + 10 : at + 10 + clen].decode("utf-8", "surrogateescape")
            for sub in self._routes.get(channel) or self._route(channel):
                sub._gap(channel, dropped)
        elif op == OP_PING:
            (token,) = codec.U64.unpack_from(buf, at)
            self._write(codec.encode_u64_op(OP_PONG, token))
        elif op == OP_PONG:
            (token,) = codec.U64.unpack_from(buf, at)
            # PONGs come back in order: this one answers every PING up to its token.
            for waiting in [t for t in self._pongs if t <= token]:
                pong = self._pongs.pop(waiting)
                if not pong.done():
                    pong.set_result(None)
        elif op in (OP_BLOCKED, OP_UNBLOCKED):
            (clen,) = _U16(buf, at)
            channel = buf[at + 2 : at + 2 + clen].decode("utf-8", "surrogateescape")
            if op == OP_BLOCKED:
                self.blocked_channels.add(channel)
            else:
                self.blocked_channels.discard(channel)
            self._call_back(self._options.on_flow_control, channel, op == OP_BLOCKED)
        else:
            self._lose(ConnectionLost(f"unexpected op {op} from the broker", PROTOCOL))

    def _answered(self, req: int, error: Optional[Error]) -> None:
        entry = self._pending.pop(req, None)
        if entry is None:
            return
        if isinstance(entry, _Publish):
            future = entry.confirm
        elif entry[0] == "req":
            reply = self._requests.get(entry[1])
            if error is not None and reply is not None and not reply.done():
                reply.set_exception(error)
            return
        elif entry[0] == "sub":
            future = entry[2]
            if error is not None:
                sub = entry[1]
                if self._subs.get(sub.channel) is sub:
                    del self._subs[sub.channel]
                    self._routes.clear()
                    sub._end(error, keep_pending=False)
                if future is None:
                    self._report(error)
        elif entry[0] == "inbox":
            future = entry[1]
            if error is not None:
                self._inbox_failed(error)
                return
        else:
            future = entry[1]
        if future is not None and not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    # -- flow control ---------------------------------------------------------------------------

    def _pause_reading(self, sub: Subscription) -> None:
        self._paused_by = sub
        if self._transport is not None:
            self._transport.pause_reading()

    def _consumed(self, sub: Subscription) -> None:
        """The application took from the subscription that stopped the reading."""
        if sub._ended or sub._unsubscribed or sub._has_room_again():
            self._paused_by = None
            if self._proto is None:
                return
            rest, self._inbuf = self._inbuf, b""
            if rest:
                self._parse_or_lose(rest)
            if self._paused_by is None and self._transport is not None:
                self._transport.resume_reading()

    # -- callbacks ------------------------------------------------------------------------------

    def _report(self, error: Error) -> None:
        if self._options.on_error is not None:
            self._call_back(self._options.on_error, error)
        else:
            log.warning("paperboy: %s", error)

    def _call_back(self, callback: Optional[Callback], *args: Any) -> None:
        if callback is None:
            return
        try:
            result = callback(*args)
        except Exception:
            log.exception("paperboy: callback %r failed", callback)
            return
        if inspect.isawaitable(result):
            task = self._loop.create_task(_awaited(result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- drain ----------------------------------------------------------------------------------

    async def _drain_steps(self) -> None:
        subs = list(self._subs.values())
        # Manual ack: hand out nothing more and wait for what the application holds to be
        # acked; what stays buffered goes back to the queue when the UNSUB is processed.
        for sub in subs:
            if sub.manual_ack:
                sub._holding = True
                sub._end()
        await self._wait_for(lambda: all(s.unacked == 0 for s in subs))
        await asyncio.gather(*(self._unsubscribe(s) for s in subs), return_exceptions=True)
        # Auto-ack deliveries already received are the application's: let it take them all,
        # and let the handlers finish.
        await self._wait_for(lambda: all(s.pending == 0 for s in subs if not s.manual_ack))
        handlers = [s._handler_task for s in subs if s._handler_task is not None]
        if handlers:
            await asyncio.gather(*handlers, return_exceptions=True)
        while self._offline and not self._closed:
            await self._wait_for(lambda: not self._offline or self._closed)
        confirms = [e.confirm for e in self._pending.values() if isinstance(e, _Publish) and e.confirm]
        if confirms:
            await asyncio.gather(*confirms, return_exceptions=True)
        if self._proto is not None:
            await self.flush()

    async def _wait_for(self, condition: Callable[[], bool]) -> None:
        # Drain is rare and bounded by its timeout; a short poll keeps the per-message paths free
        # of drain bookkeeping.
        while not condition():
            await asyncio.sleep(0.01)


async def _run_handler(sub: Subscription, handler: Handler) -> None:
    """Hands the subscription's messages to ``handler`` one at a time, until it ends."""
    try:
        async for msg in sub:
            try:
                await handler(msg)
            except Exception:
                log.exception("paperboy: the handler of %s failed on a message", sub.channel)
    except ConnectionLost:
        pass  # the client gave up; on_gave_up says so


async def _awaited(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("paperboy: callback failed")


async def connect(
    host: str = "127.0.0.1",
    port: int = 25000,
    *,
    servers: Optional[Sequence[Server]] = None,
    name: str = "",
    token: str = "",
    reconnect: bool = True,
    max_reconnect_attempts: Optional[int] = None,
    reconnect_initial_delay: float = 0.1,
    reconnect_max_delay: float = 5.0,
    connect_timeout: float = 5.0,
    ping_interval: float = 20.0,
    ping_timeout: float = 10.0,
    offline_buffer_bytes: int = 8 * 1024 * 1024,
    resend_unconfirmed: bool = True,
    max_pending_messages: int = 65_536,
    max_pending_bytes: int = 64 * 1024 * 1024,
    protocol_version: int = 2,
    ssl: Union[_ssl.SSLContext, bool, None] = None,
    server_hostname: Optional[str] = None,
    on_disconnected: Optional[Callback] = None,
    on_reconnected: Optional[Callback] = None,
    on_gave_up: Optional[Callback] = None,
    on_error: Optional[Callback] = None,
    on_flow_control: Optional[Callback] = None,
) -> Client:
    """Connect to paperboyd at ``host:port`` (then ``servers``, tried in turn) and return the
    client. Raises ``ConnectionLost`` if no server could be reached, ``NotAuthorized`` if the
    broker refused the token. See the README for every option."""
    if protocol_version not in (1, 2):
        raise Error(f"PB1 version {protocol_version} is not one this client speaks (1 or 2)")
    if server_hostname and not ssl:
        raise Error("server_hostname needs ssl")
    # True: the system's trusted CAs, host name checked (TLS 1.2 at least, like paperboyd).
    tls = _ssl.create_default_context() if ssl is True else (ssl or None)
    all_servers = [(host, port)] + [_parse_server(s) for s in servers or []]
    options = Options(
        name=name or f"python-{os.getpid()}",
        token=token,
        reconnect=reconnect,
        max_reconnect_attempts=max_reconnect_attempts,
        reconnect_initial_delay=reconnect_initial_delay,
        reconnect_max_delay=reconnect_max_delay,
        connect_timeout=connect_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        offline_buffer_bytes=offline_buffer_bytes,
        resend_unconfirmed=resend_unconfirmed,
        max_pending_messages=max_pending_messages,
        max_pending_bytes=max_pending_bytes,
        protocol_version=protocol_version,
        ssl=tls,
        server_hostname=server_hostname,
        on_disconnected=on_disconnected,
        on_reconnected=on_reconnected,
        on_gave_up=on_gave_up,
        on_error=on_error,
        on_flow_control=on_flow_control,
    )
    client = Client(all_servers, options)
    await client._start()
    return client


__all__ = ["Client", "Options", "connect"]
