"""A killed process never leaves a lock behind for longer than a lease.

A multi-document transaction holds what it wrote until it commits or aborts. A process killed
inside one leaves it open: MongoDB aborts it only after `transactionLifetimeLimitSeconds`
(60 s), and the embedded database only when a later transaction happens to look. So each
process keeps one record here, renewed like a lease, listing the database sessions it opened
transactions on. When a record stops being renewed, any other process kills those sessions
(`killSessions`, which any user may send for their own sessions): their open transactions
abort at once, and the runs the dead process held can be claimed.
"""

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from beanie import Document
from bson import Binary
from pydantic import Field
from pymongo import IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from models.base import earlier_than, utcnow

log = structlog.get_logger(__name__)
DEFAULT_LEASE_SECONDS = 30.0
# A frozen process's record outlives its last renewal by a lease; renewals come often enough
# that a live one never gets near that.
RENEWALS_PER_LEASE = 3


class ProcessDocument(Document):
    id: str  # type: ignore[assignment]  # the process's name: host:pid:random
    expires_at: datetime
    # The `id` part of each logical session id (a UUID) it ran transactions on.
    sessions: list[Any] = Field(default_factory=list)

    class Settings:
        name = "processes"
        indexes = [IndexModel([("expires_at", 1)])]


class ProcessLiveness:
    def __init__(self) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_seconds = DEFAULT_LEASE_SECONDS
        self._registered: set[bytes] = set()
        self._renewing: asyncio.Task[None] | None = None
        self._users = 0  # databases connected in this process (tests connect several)

    def _expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.lease_seconds)

    async def register(self, session: AsyncClientSession) -> None:
        """Records `session` before it opens a transaction (once per pooled session)."""
        lsid = _binary(session.session_id["id"])
        if bytes(lsid) in self._registered:
            return
        await ProcessDocument.get_pymongo_collection().update_one(
            {"_id": self.name},
            {"$addToSet": {"sessions": lsid}, "$set": {"expires_at": self._expiry()}},
            upsert=True,
        )
        self._registered.add(bytes(lsid))

    def start(self, lease_seconds: float) -> None:
        self._users += 1
        self.lease_seconds = (
            min(lease_seconds, self.lease_seconds) if self._users > 1 else lease_seconds
        )
        if self._renewing is None:
            self._renewing = asyncio.create_task(self._renew_forever())

    async def stop(self) -> None:
        """A clean exit: the record goes (its transactions are all over by now)."""
        self._users -= 1
        if self._users > 0:
            return
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            self._renewing = None
        with contextlib.suppress(PyMongoError):
            await ProcessDocument.get_pymongo_collection().delete_one({"_id": self.name})
        self._registered.clear()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / RENEWALS_PER_LEASE)
            try:
                await self.renew()
            except PyMongoError as error:
                log.warning("process_renewal_failed", error=str(error))

    async def renew(self) -> None:
        renewed = await ProcessDocument.get_pymongo_collection().update_one(
            {"_id": self.name}, {"$set": {"expires_at": self._expiry()}}
        )
        if renewed.matched_count == 0:
            # Reaped while frozen (or never recorded): the sessions were killed, record anew.
            self._registered.clear()


async def reap_dead_processes() -> int:
    """Kills the sessions of every process whose record ran out, then drops the record."""
    collection = ProcessDocument.get_pymongo_collection()
    reaped = 0
    async for record in collection.find({"expires_at": earlier_than(utcnow())}):
        sessions = [{"id": _binary(lsid)} for lsid in record.get("sessions", [])]
        if sessions:
            await collection.database.client.admin.command({"killSessions": sessions})
        # Only if it was not renewed meanwhile (a frozen process that woke up keeps its record).
        await collection.delete_one({"_id": record["_id"], "expires_at": record["expires_at"]})
        log.warning("dead_process_reaped", process=record["_id"], sessions=len(sessions))
        reaped += 1
    return reaped


def _binary(lsid: Any) -> Binary:
    """A session id as the command needs it (the client reads UUIDs back as uuid.UUID)."""
    return Binary.from_uuid(lsid) if isinstance(lsid, uuid.UUID) else Binary(bytes(lsid), 4)


# One per process: every transaction's session is registered with it (models/repository.py).
process = ProcessLiveness()
