"""Subscriptions: a run's or a thread's events, replayed from the log, then live. Over a
websocket, each is sent straight to the connection when it can be (app/live.py)."""

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app.context import Info
from app.live import deliver
from engine.follow import follow
from models.errors import BadUserInput, NotFound
from schema.event import RunEvent, event_from_document


def _start(after_sequence: int | None) -> int:
    if after_sequence is not None and after_sequence < 0:
        raise BadUserInput("afterSequence: must be 0 or more.")
    return after_sequence or 0


@strawberry.type
class EventSubscription:
    @strawberry.subscription(
        description="A run's events after `afterSequence`, then live; ends after its last."
    )
    async def run_events(
        self,
        info: Info,
        run_id: Annotated[strawberry.ID, strawberry.argument(description="The run's id.")],
        after_sequence: Annotated[
            int | None,
            strawberry.argument(
                description="Start after this event `sequence` (0 or more; default 0: replay "
                "every stored event)."
            ),
        ] = None,
    ) -> AsyncGenerator[RunEvent, None]:
        after = _start(after_sequence)
        run = await info.context.access.run(run_id)
        if run is None:
            raise NotFound("run", run_id)
        bus = info.context.engine.bus
        async for event in follow(bus, run.project_id, run.thread_id, after, run_id=run.id):
            answer = event_from_document(event)
            if not await deliver(answer):
                yield answer

    @strawberry.subscription(
        description="Every event of every run on a thread after `afterSequence`, then live."
    )
    async def thread_events(
        self,
        info: Info,
        thread_id: Annotated[strawberry.ID, strawberry.argument(description="The thread's id.")],
        after_sequence: Annotated[
            int | None,
            strawberry.argument(
                description="Start after this event `sequence` (0 or more; default 0: replay "
                "every stored event)."
            ),
        ] = None,
    ) -> AsyncGenerator[RunEvent, None]:
        after = _start(after_sequence)
        thread = await info.context.access.thread(thread_id)
        if thread is None:
            raise NotFound("thread", thread_id)
        bus = info.context.engine.bus
        async for event in follow(bus, thread.project_id, thread.id, after):
            answer = event_from_document(event)
            if not await deliver(answer):
                yield answer
