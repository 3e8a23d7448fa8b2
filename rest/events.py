"""Server-sent events for streamed runs, from the durable event log (as the GraphQL
subscriptions read it, so a stream is never missing an event): `event: <name>` /
`data: <OpenAI's JSON>` frames, ending with `event: done` / `data: [DONE]`.

A run's stream ends at its end, or when it waits for tool outputs (`requires_action`): the
client answers with a submit, whose own stream carries what follows."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import structlog
from fastapi.responses import StreamingResponse

from engine.bus import EventBus
from engine.follow import follow
from models.event import EventDocument
from models.run import RunDocument
from models.run_step import RunStepDocument
from rest import run_shapes, thread_shapes

log = structlog.get_logger(__name__)
PAUSE = "thread.run.requires_action"
DONE = b"event: done\ndata: [DONE]\n\n"


def payload(event: EventDocument, include: frozenset[str]) -> dict[str, Any]:
    """The event's data as OpenAI sends it: the whole object, or a delta `{id, object,
    delta}`."""
    name, data = event.event, event.data
    if name == "error":  # a run's internal failure, told before its `thread.run.failed`
        return {
            "code": data.get("code"),
            "message": data.get("message"),
            "param": None,
            "type": "server_error",
        }
    if name == "thread.created":
        return thread_shapes.thread_from_snapshot(data["thread"])
    if name == "thread.message.delta":
        return {"id": data["message_id"], "object": name, "delta": data["delta"]}
    if name == "thread.run.step.delta":
        return {"id": data["step_id"], "object": name, "delta": data["delta"]}
    if name.startswith("thread.message."):
        return thread_shapes.message_from_snapshot(data["message"])
    if name.startswith("thread.run.step."):
        return run_shapes.step(RunStepDocument.model_validate(data["step"]), include)
    return run_shapes.run(RunDocument.model_validate(data["run"]))


def frame(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def frames(
    bus: EventBus, run: RunDocument, after: int, include: frozenset[str]
) -> AsyncIterator[bytes]:
    events = follow(bus, run.project_id, run.thread_id, after, run_id=run.id)
    try:
        async with aclosing(events):  # closed at the pause too: its listener is let go
            async for event in events:
                yield frame(event.event, payload(event, include))
                if event.event == PAUSE:
                    break
    except Exception as error:  # the client hears it as an error event, then the end
        correlation_id = uuid.uuid4().hex
        log.error("rest_stream_failed", correlation_id=correlation_id, exc_info=error)
        message = f"The stream failed (correlation id {correlation_id})."
        error_body = {"message": message, "type": "server_error", "param": None, "code": None}
        yield frame("error", {"error": error_body})
    yield DONE


def stream(
    bus: EventBus, run: RunDocument, after: int, include: frozenset[str]
) -> StreamingResponse:
    return StreamingResponse(
        frames(bus, run, after, include),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
