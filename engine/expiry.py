"""Runs left waiting past `expires_at` (queued, or for tool outputs) become `expired`."""

import structlog

from engine import endings
from engine.stop import Stopped
from engine.writer import RunWriter
from models.run import overdue

log = structlog.get_logger(__name__)
WAITING = ("queued", "requires_action")


async def expire_overdue() -> int:
    expired = 0
    for run in await overdue(WAITING):
        writer = RunWriter(run)  # guarded by the run's fence: a claim meanwhile wins
        try:
            await endings.end(writer, endings.EXPIRED)
            expired += 1
        except Stopped:
            continue
    if expired:
        log.info("runs_expired", count=expired)
    return expired
