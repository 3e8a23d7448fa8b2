"""How a run ends when it does not complete: cancelled, failed, or incomplete. Whatever step
and message were being written end with it."""

from engine.writer import RunWriter, message_event, step_event
from models.base import utcnow
from models.event import NewEvent
from models.message import MessageDocument
from models.run import IncompleteDetails, LastError
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


async def expire_steps(writer: RunWriter) -> tuple[list[RunStepDocument], list[NewEvent]]:
    steps, events = [], []
    for step in await open_steps(writer.run.id, writer.run.project_id):
        step.status, step.expired_at = "expired", utcnow()
        steps.append(step)
        events.append(step_event("expired", step))
    return steps, events


async def _close_open(
    writer: RunWriter, step_status: str, error: LastError | None = None
) -> tuple[list[RunStepDocument | MessageDocument], list[NewEvent]]:
    """The open step ends `cancelled`/`failed`; a message cut short is `incomplete`."""
    now = utcnow()
    documents: list[RunStepDocument | MessageDocument] = []
    events: list[NewEvent] = []
    reason = "run_cancelled" if step_status == "cancelled" else "run_failed"
    message = writer.partial_message(reason)
    if message is not None:
        documents.append(message)
        events.append(message_event("incomplete", message))
    for step in await open_steps(writer.run.id, writer.run.project_id):
        step.status = step_status  # type: ignore[assignment]
        if step_status == "cancelled":
            step.cancelled_at = now
        else:
            step.failed_at, step.last_error = now, error
        documents.append(step)
        events.append(step_event(step_status, step))
    return documents, events
