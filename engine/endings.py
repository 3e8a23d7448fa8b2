"""How a run ends when it does not complete: cancelled, failed, or incomplete. Whatever step
and message were being written end with it."""

from engine.writer import RunWriter, message_event, step_event
from models.base import utcnow
from models.event import NewEvent
from models.message import MessageDocument
from models.run import IncompleteDetails, LastError, RunDocument
from models.run_step import RunStepDocument, open_steps


async def cancel(writer: RunWriter) -> None:
    documents, events = await _close_open(writer, "cancelled")
    await writer.move("cancelled", documents=documents, events=events)


async def fail(writer: RunWriter, error: LastError) -> None:
    documents, events = await _close_open(writer, "failed", error)
    await writer.move("failed", fields={"last_error": error}, documents=documents, events=events)


async def incomplete(writer: RunWriter, reason: str) -> None:
    documents, events = await _close_open(writer, "failed")
    details = IncompleteDetails(reason=reason)
    await writer.move(
        "incomplete", fields={"incomplete_details": details}, documents=documents, events=events
    )


# The timestamp each ending status of a step sets.
_STEP_STAMPS = {"cancelled": "cancelled_at", "failed": "failed_at", "expired": "expired_at"}


async def end_open_steps(
    run: RunDocument, status: str, error: LastError | None = None
) -> tuple[list[RunStepDocument], list[NewEvent]]:
    """The run's steps still in progress, ended `status` (with `error` when failed), and their
    events: not yet written, for the caller's transaction."""
    steps, events = [], []
    for step in await open_steps(run.id, run.project_id):
        step.status = status  # type: ignore[assignment]
        setattr(step, _STEP_STAMPS[status], utcnow())
        if error is not None:
            step.last_error = error
        steps.append(step)
        events.append(step_event(status, step))
    return steps, events


async def _close_open(
    writer: RunWriter, step_status: str, error: LastError | None = None
) -> tuple[list[RunStepDocument | MessageDocument], list[NewEvent]]:
    """The open step ends `cancelled`/`failed`; a message cut short is `incomplete`."""
    documents: list[RunStepDocument | MessageDocument] = []
    events: list[NewEvent] = []
    reason = "run_cancelled" if step_status == "cancelled" else "run_failed"
    message = writer.partial_message(reason)
    if message is not None:
        documents.append(message)
        events.append(message_event("incomplete", message))
    steps, step_events = await end_open_steps(writer.run, step_status, error)
    return [*documents, *steps], [*events, *step_events]
