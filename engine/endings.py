"""How a run ends when it does not complete: cancelled, failed, incomplete or expired. The step
and message that were being written end with it, in the same transaction."""

from dataclasses import dataclass
from typing import Any, Literal

from engine.writer import RunWriter, message_event, step_event
from models.base import utcnow
from models.event import NewEvent
from models.message import MessageDocument
from models.run import IncompleteDetails, IncompleteReason, LastError, RunDocument
from models.run_step import RunStepDocument, open_steps

EndStatus = Literal["cancelled", "failed", "incomplete", "expired"]
# What each ending makes of a step still in progress, and of a message cut short.
_STEP_STATUS = {"cancelled": "cancelled", "expired": "expired"}
_MESSAGE_REASON = {"cancelled": "run_cancelled", "expired": "run_expired"}
_STEP_STAMPS = {"cancelled": "cancelled_at", "failed": "failed_at", "expired": "expired_at"}


@dataclass(frozen=True)
class Ending:
    status: EndStatus
    error: LastError | None = None
    incomplete_reason: IncompleteReason | None = None
    # Failed on our side, not the model's: OpenAI's stream tells that with an `error` event.
    internal: bool = False

    @property
    def step_status(self) -> str:
        return _STEP_STATUS.get(self.status, "failed")

    @property
    def message_reason(self) -> str:
        return _MESSAGE_REASON.get(self.status, "run_failed")

    def fields(self) -> dict[str, Any]:
        if self.error is not None:
            return {"last_error": self.error}
        if self.incomplete_reason is not None:
            return {"incomplete_details": IncompleteDetails(reason=self.incomplete_reason)}
        return {}

    def step_error(self) -> LastError | None:
        """A step's error is only ever `server_error` or `rate_limit_exceeded` (OpenAI)."""
        if self.error is None:
            return None
        if self.error.code == "rate_limit_exceeded":
            return self.error
        return LastError(code="server_error", message=self.error.message)


CANCELLED = Ending("cancelled")
EXPIRED = Ending("expired")


def failed(error: LastError, internal: bool = False) -> Ending:
    return Ending("failed", error=error, internal=internal)


def incomplete(reason: IncompleteReason | None) -> Ending:
    return Ending("incomplete", incomplete_reason=reason)


async def end(writer: RunWriter, ending: Ending) -> None:
    """Ends the worker's run as stored: what is open ends with it, then the run moves."""
    documents, events = await close_open(writer.run, ending)
    if ending.internal and ending.error is not None:
        error = {"code": ending.error.code, "message": ending.error.message}
        events.append(NewEvent("error", writer.run.id, error))
    await writer.move(ending.status, fields=ending.fields(), documents=documents, events=events)


async def close_open(
    run: RunDocument, ending: Ending
) -> tuple[list[RunStepDocument | MessageDocument], list[NewEvent]]:
    """The run's steps still in progress, ended as `ending` says, and a message they were
    writing ended `incomplete` with the text stored so far (exactly what was streamed); with
    their events, not yet written, for the caller's transaction. Read from the database, so
    that a write refused midway cannot leave its text in a message nobody was told of."""
    status = ending.step_status
    documents: list[RunStepDocument | MessageDocument] = []
    events: list[NewEvent] = []
    for step in await open_steps(run.id, run.project_id):
        creation = step.step_details.message_creation
        message = await MessageDocument.get(creation.message_id) if creation else None
        if message is not None and message.status == "in_progress":
            message.status, message.incomplete_at = "incomplete", utcnow()
            message.incomplete_details = {"reason": ending.message_reason}
            documents.append(message)
            events.append(message_event("incomplete", message))
        step.status = status  # type: ignore[assignment]
        setattr(step, _STEP_STAMPS[status], utcnow())
        step.last_error = ending.step_error()
        documents.append(step)
        events.append(step_event(status, step))
    return documents, events
