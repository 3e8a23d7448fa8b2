"""Runs left waiting past `expires_at` (queued, or for tool outputs) become `expired`."""

import structlog

from engine.endings import end_open_steps
from engine.writer import CancelRequested, LeaseLost, RunWriter
from models.run import overdue

log = structlog.get_logger()
WAITING = ("queued", "requires_action")


async def expire_overdue() -> int:
    expired = 0
    for run in await overdue(WAITING):
        writer = RunWriter(run)  # guarded by the run's fence: a claim meanwhile wins
        try:
            steps, events = await end_open_steps(run, "expired")
            await writer.move("expired", documents=steps, events=events)
            expired += 1
        except (LeaseLost, CancelRequested):
            continue
    if expired:
        log.info("runs_expired", count=expired)
    return expired
