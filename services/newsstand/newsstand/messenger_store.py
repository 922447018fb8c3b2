"""The one consumer that stores every messenger record in the database, once per record_id."""

from __future__ import annotations

import json
import logging

import paperboy

from . import channels
from .broker import BrokerLink
from .db import Database

log = logging.getLogger("newsstand.messenger")


class MessengerStore:
    """Subscribes to /topic/newsstand/messenger and INSERTs OR IGNOREs each record by record_id
    (a confirmed publish sent again after a reconnect arrives twice and is stored once)."""

    def __init__(self, db: Database, broker: BrokerLink) -> None:
        self._db = db
        self._broker = broker

    async def start(self) -> None:
        await self._broker.client.subscribe(channels.MESSENGER, handler=self._store)

    async def _store(self, msg: paperboy.Message) -> None:
        try:
            record = json.loads(msg.payload)
            record_id, messenger_id = str(record["record_id"]), int(record["messenger_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("messenger.bad_record payload=%r", msg.payload[:200])
            return
        await self._db.store_messenger_record(record_id, messenger_id, msg.payload.decode())
