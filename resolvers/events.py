"""Subscriptions: a run's or a thread's events, replayed from the log, then live. Over a
websocket, each is sent straight to the connection when it can be (app/live.py)."""

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncGenerator, Callable
from typing import Annotated

import strawberry

from app import live, metrics
from app.context import Info
from engine.follow import follow
from models.errors import BadUserInput, NotFound
from models.event import EventDocument
from schema.event import RunEvent, event_from_document


async def _sent(events: AsyncGenerator[EventDocument, None]) -> AsyncGenerator[RunEvent, None]:
    """Each event sent straight to a websocket subscriber, or yielded for Strawberry to send
    (app/live.py); counted, as is the subscription while it lasts (app/metrics.py). The
    events' generator is closed with this one: it holds the subscriber's place on the bus."""
    with metrics.held(metrics.SUBSCRIPTIONS_ACTIVE):
        async with contextlib.aclosing(events):
            async for event in events:
                answer = event_from_document(event)
                if not await live.deliver(answer):
                    yield answer
                metrics.EVENTS_SENT.inc()


def _push() -> Callable[[EventDocument], bool] | None:
    """For a websocket operation: its live events sent at once as they come (engine/follow.py),
    in this operation's context, whenever its connection can take them without waiting."""
    operation = live.CURRENT.get()
    task = asyncio.current_task()
    if operation is None or task is None:
        return None
    context = contextvars.copy_context()

    def push(event: EventDocument) -> bool:
        if task.cancelling():  # the client has ended it (its task will, when next it runs)
            return False
        if not context.run(operation.deliver_now, event_from_document(event)):
            return False
        metrics.EVENTS_SENT.inc()
        return True

    return push


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
        events = follow(bus, run.project_id, run.thread_id, after, run.id, _push())
        async with contextlib.aclosing(_sent(events)) as answers:
            async for answer in answers:
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
        events = follow(bus, thread.project_id, thread.id, after, push=_push())
        async with contextlib.aclosing(_sent(events)) as answers:
            async for answer in answers:
                yield answer
