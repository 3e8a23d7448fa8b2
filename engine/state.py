"""The one state machine of runs: every status change is checked here, then written with
its event in one transaction (models/run_changes.py)."""

from collections.abc import Sequence
from typing import Any

import structlog

from app import metrics
from models.base import ScopedDocument, utcnow
from models.event import EventDocument, NewEvent
from models.run import TERMINAL_STATUSES, RunDocument, RunStatus
from models.run_changes import Change, commit
from models.thread import ThreadDocument

log = structlog.get_logger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"in_progress", "cancelled", "failed", "expired"}),
    "in_progress": frozenset(
        {"requires_action", "cancelling", "completed", "failed", "incomplete"}
    ),
    # Tool outputs re-queue the run; nothing executes it meanwhile, so a cancel ends it.
    "requires_action": frozenset({"queued", "cancelled", "failed", "expired"}),
    "cancelling": frozenset({"cancelled", "failed"}),
    **{status: frozenset() for status in TERMINAL_STATUSES},
}
# When each status is entered, this timestamp is set.
_STAMPS = {
    "in_progress": "started_at",
    "cancelled": "cancelled_at",
    "failed": "failed_at",
    "completed": "completed_at",
}


class IllegalTransition(Exception):
    def __init__(self, run: RunDocument, to: str) -> None:
        super().__init__(f"run {run.id} cannot go from {run.status} to {to}")
        self.current = run.status
        self.to = to


def check_transition(run: RunDocument, to: RunStatus) -> None:
    if to not in TRANSITIONS[run.status]:
        raise IllegalTransition(run, to)


def status_fields(run: RunDocument, to: RunStatus) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": to}
    stamp = _STAMPS.get(to)
    if stamp and getattr(run, stamp) is None:
        fields[stamp] = utcnow()
    if to in TERMINAL_STATUSES:
        # Usage is told once the run ends; a run that ended no longer expires.
        fields.update(
            active=False, lease=None, required_action=None, expires_at=None, usage=run.spent
        )
    if to == "requires_action":
        fields["lease"] = None  # nobody executes a run that waits for tool outputs
    return fields


async def move(
    run: RunDocument,
    to: RunStatus,
    *,
    fence: int | None = None,
    fields: dict[str, Any] | None = None,
    documents: Sequence[ScopedDocument] = (),
    events: Sequence[NewEvent] = (),
) -> tuple[RunDocument, list[EventDocument]]:
    """Moves `run` to `to`: legal transitions only, guarded by the stored status (and the
    worker's fence), written together with `documents` and the events, run event last."""
    check_transition(run, to)
    given = fields or {}
    changes = {**given, **status_fields(run.model_copy(update=given), to)}
    after = run.model_copy(update=changes)
    status_event = NewEvent(f"thread.run.{to}", run.id, {"run": after.snapshot()})
    moved = await commit(
        Change(
            run,
            expect_statuses={run.status},
            expect_fence=fence,
            fields=changes,
            documents=documents,
            events=[*events, status_event],
        )
    )
    log.info(
        "run_transition",
        run_id=run.id,
        thread_id=run.thread_id,
        source=run.status,
        to=to,
        fence=fence,
    )
    if to in TERMINAL_STATUSES:
        metrics.RUNS_ENDED.labels(status=to).inc()
        metrics.RUN_SECONDS.observe((utcnow() - run.created_at).total_seconds())
    return moved


def created(run: RunDocument, thread: ThreadDocument | None = None) -> list[NewEvent]:
    """A new run's first events, written with the run itself: it is created, and queued; first
    of all, when the run made its thread (createThreadAndRun), that thread is created, as
    OpenAI's stream begins."""
    snapshot = run.snapshot()
    log.info("run_transition", run_id=run.id, thread_id=run.thread_id, source=None, to=run.status)
    metrics.RUNS_CREATED.inc()
    made = [NewEvent("thread.created", run.id, {"thread": thread.snapshot()})] if thread else []
    return [
        *made,
        NewEvent("thread.run.created", run.id, {"run": snapshot}),
        NewEvent("thread.run.queued", run.id, {"run": snapshot}),
    ]


async def record(
    run: RunDocument,
    *,
    fence: int | None,
    fields: dict[str, Any] | None = None,
    documents: Sequence[ScopedDocument] = (),
    events: Sequence[NewEvent] = (),
) -> tuple[RunDocument, list[EventDocument]]:
    """Writes progress that keeps the run's status (steps, messages, deltas, usage)."""
    return await commit(
        Change(
            run,
            expect_statuses={run.status},
            expect_fence=fence,
            fields=fields or {},
            documents=documents,
            events=events,
        )
    )
