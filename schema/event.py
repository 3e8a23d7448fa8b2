"""Run events as GraphQL types: what `runEvents` and `threadEvents` deliver."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.recent import Recent
from models.event import EventDocument
from models.message import MessageDocument
from models.run import RunDocument
from models.run_step import RunStepDocument
from models.thread import ThreadDocument
from schema.common import json_value
from schema.message import Message
from schema.run import Run
from schema.run_step import RunStep
from schema.thread import Thread


@strawberry.interface(
    description="One stored event of a thread; `sequence` is 1, 2, 3… per thread."
)
class RunEvent:
    sequence: int = strawberry.field(
        description="The event's number in its thread, across all its runs: 1, 2, 3…"
    )
    event: str = strawberry.field(description="The OpenAI stream event name.")
    run_id: strawberry.ID = strawberry.field(description="The run the event is about.")
    thread_id: strawberry.ID = strawberry.field(description="The run's thread.")
    created_at: datetime = strawberry.field(description="When the event happened.")


@strawberry.type(
    description="thread.run.created, queued, in_progress, requires_action, completed, …: the "
    "run as it is then."
)
class RunStatusEvent(RunEvent):
    run: Run = strawberry.field(description="The run at the time of the event.")


@strawberry.type(
    description="thread.run.step.created, in_progress, completed, …: the step as it is then."
)
class RunStepEvent(RunEvent):
    step: RunStep = strawberry.field(description="The step at the time of the event.")


@strawberry.type(description="thread.run.step.delta: a piece of a step being written.")
class RunStepDeltaEvent(RunEvent):
    step_id: strawberry.ID = strawberry.field(description="The step being written.")
    delta: JSON = strawberry.field(
        description="The change, as OpenAI's `thread.run.step.delta` event's `delta`."
    )


@strawberry.type(
    description="thread.message.created, in_progress, completed, incomplete: the message as "
    "it is then."
)
class MessageEvent(RunEvent):
    message: Message = strawberry.field(description="The message at the time of the event.")


@strawberry.type(description="thread.message.delta: a piece of a message being written.")
class MessageDeltaEvent(RunEvent):
    message_id: strawberry.ID = strawberry.field(description="The message being written.")
    text_delta: str | None = strawberry.field(
        description="The text added, if the delta adds text: append it to what came before."
    )
    delta: JSON = strawberry.field(
        description="The change, as OpenAI's `thread.message.delta` event's `delta`."
    )


@strawberry.type(description="thread.created: the thread `createThreadAndRun` made, as made.")
class ThreadEvent(RunEvent):
    thread: Thread = strawberry.field(description="The thread, as it was created.")


@strawberry.type(description="error: the run failed on an internal error (its `lastError`).")
class ErrorEvent(RunEvent):
    code: str = strawberry.field(description="The error's code (e.g. `server_error`).")
    message: str = strawberry.field(description="What went wrong.")


EVENT_TYPES = [
    ThreadEvent,
    RunStatusEvent,
    RunStepEvent,
    RunStepDeltaEvent,
    MessageEvent,
    MessageDeltaEvent,
    ErrorEvent,
]


# Events as GraphQL objects, made once for all the subscribers that get them at once.
_CONVERTED: Recent[str, RunEvent] = Recent(size=4096, seconds=10)


def event_from_document(document: EventDocument) -> RunEvent:
    """The event as its GraphQL type (the same object for every subscriber: never changed)."""
    converted = _CONVERTED.get(document.id)
    if converted is None:
        converted = _CONVERTED.put(document.id, _convert(document))
    return converted


def _convert(document: EventDocument) -> RunEvent:
    common: dict[str, Any] = {
        "sequence": document.sequence,
        "event": document.event,
        "run_id": strawberry.ID(document.run_id),
        "thread_id": strawberry.ID(document.thread_id),
        "created_at": document.created_at,
    }
    data = document.data
    if document.event == "thread.created":
        thread = ThreadDocument.model_validate(data["thread"])
        return ThreadEvent(**common, thread=Thread.from_document(thread))
    if document.event == "error":
        return ErrorEvent(**common, code=str(data["code"]), message=str(data["message"]))
    if "run" in data:
        return RunStatusEvent(
            **common, run=Run.from_document(RunDocument.model_validate(data["run"]))
        )
    if "step" in data:
        step = RunStepDocument.model_validate(data["step"])
        return RunStepEvent(**common, step=RunStep.from_document(step))
    if "message" in data:
        message = MessageDocument.model_validate(data["message"])
        return MessageEvent(**common, message=Message.from_document(message))
    if "message_id" in data:
        return MessageDeltaEvent(
            **common,
            message_id=strawberry.ID(data["message_id"]),
            text_delta=data.get("text_delta"),
            delta=json_value(data["delta"]),
        )
    if "step_id" in data:
        return RunStepDeltaEvent(
            **common, step_id=strawberry.ID(data["step_id"]), delta=json_value(data["delta"])
        )
    raise ValueError(f"no GraphQL type for the event {document.event!r}")
