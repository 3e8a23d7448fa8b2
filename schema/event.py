"""Run events as GraphQL types: what `runEvents` and `threadEvents` deliver."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models.event import EventDocument
from models.message import MessageDocument
from models.run import RunDocument
from models.run_step import RunStepDocument
from schema.common import json_value
from schema.message import Message
from schema.run import Run
from schema.run_step import RunStep


@strawberry.interface(
    description="One stored event of a thread; `sequence` is 1, 2, 3… per thread."
)
class RunEvent:
    sequence: int
    event: str = strawberry.field(description="The OpenAI stream event name.")
    run_id: strawberry.ID
    thread_id: strawberry.ID
    created_at: datetime


@strawberry.type
class RunStatusEvent(RunEvent):
    run: Run


@strawberry.type
class RunStepEvent(RunEvent):
    step: RunStep


@strawberry.type
class RunStepDeltaEvent(RunEvent):
    step_id: strawberry.ID
    delta: JSON


@strawberry.type
class MessageEvent(RunEvent):
    message: Message


@strawberry.type
class MessageDeltaEvent(RunEvent):
    message_id: strawberry.ID
    text_delta: str | None
    delta: JSON


@strawberry.type
class ErrorEvent(RunEvent):
    code: str
    message: str


EVENT_TYPES = [
    RunStatusEvent,
    RunStepEvent,
    RunStepDeltaEvent,
    MessageEvent,
    MessageDeltaEvent,
    ErrorEvent,
]


def event_from_document(document: EventDocument) -> RunEvent:
    common: dict[str, Any] = {
        "sequence": document.sequence,
        "event": document.event,
        "run_id": strawberry.ID(document.run_id),
        "thread_id": strawberry.ID(document.thread_id),
        "created_at": document.created_at,
    }
    data = document.data
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
    return ErrorEvent(
        **common, code=str(data.get("code", "server_error")), message=str(data.get("message", ""))
    )
