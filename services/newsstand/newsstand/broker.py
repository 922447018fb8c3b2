"""The app's one paperboy client: connecting at start-up, the event subscription feeding the hub,
and the connection state /healthz reports."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Optional

import paperboy

from . import channels
from .hub import Event, EventHub

log = logging.getLogger("newsstand.broker")

# Start-up retries until the broker answers (systemd may start the app before paperboyd).
FIRST_CONNECT_MAX_DELAY_S = 2.0
# A confirm normally takes a round trip; one held back by a reconnect must not hold an HTTP request.
CONFIRM_TIMEOUT_S = 5.0


class BrokerLink:
    """Owns the client for the app's lifetime; the client itself reconnects after a loss."""

    def __init__(self, brokers: tuple[tuple[str, int], ...], hub: EventHub) -> None:
        self.brokers = brokers
        self.hub = hub
        self._client: Optional[paperboy.Client] = None

    @property
    def client(self) -> paperboy.Client:
        if self._client is None:
            raise paperboy.ConnectionLost("not connected to the broker yet")
        return self._client

    def connected_client(self) -> paperboy.Client:
        """The client if it is connected now; raises ConnectionLost rather than let an HTTP
        request wait in the offline buffer for a reconnect."""
        if not self.connected:
            raise paperboy.ConnectionLost("the broker is not reachable")
        return self.client

    async def publish_confirmed(self, channel: str, payload: str) -> None:
        """Publish and wait for the broker's OK; raises paperboy.Error (ConnectionLost when
        disconnected, Timeout when the OK takes longer than CONFIRM_TIMEOUT_S)."""
        try:
            await asyncio.wait_for(
                self.connected_client().publish(channel, payload, confirm=True), CONFIRM_TIMEOUT_S
            )
        except asyncio.TimeoutError:
            raise paperboy.Timeout(f"no confirm for {channel} within {CONFIRM_TIMEOUT_S:g} s") from None

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def start(self) -> None:
        """Connect (retrying until the broker answers) and subscribe the hub to every event."""
        (host, port), more = self.brokers[0], [f"{h}:{p}" for h, p in self.brokers[1:]]
        attempt = 0
        while True:
            try:
                self._client = await paperboy.connect(
                    host, port, servers=more, name="newsstand-app",
                    on_disconnected=lambda error: log.warning("broker.disconnected error=%s", error),
                    on_reconnected=lambda: log.info("broker.reconnected"),
                )
                break
            except paperboy.ConnectionLost as error:
                attempt += 1
                delay = random.uniform(0, min(FIRST_CONNECT_MAX_DELAY_S, 0.1 * 2**attempt))
                log.warning("broker.unreachable attempt=%d error=%s", attempt, error)
                await asyncio.sleep(delay)
        log.info("broker.connected servers=%s", ",".join(f"{h}:{p}" for h, p in self.brokers))
        await self._client.subscribe(channels.EVERY_EVENT, handler=self._on_event)

    async def _on_event(self, msg: paperboy.Message) -> None:
        self.hub.dispatch(Event(msg.channel, msg.payload))

    async def stop(self) -> None:
        if self._client is not None:
            try:
                await self._client.drain(timeout=5.0)
            except paperboy.Error as error:
                log.warning("broker.drain_failed error=%s", error)
                await self._client.close()
