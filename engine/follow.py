"""A subscriber's view of the event log: what is stored after `after`, then what comes live,
with no gap and no duplicate."""

from collections.abc import AsyncGenerator, Callable

from engine.bus import EventBus
from models.event import EventDocument, first_of, stored_after

TERMINAL_EVENTS = frozenset(
    f"thread.run.{status}"
    for status in ("completed", "failed", "cancelled", "expired", "incomplete")
)


async def follow(
    bus: EventBus,
    project_id: str,
    thread_id: str,
    after: int = 0,
    run_id: str | None = None,
    push: Callable[[EventDocument], bool] | None = None,
) -> AsyncGenerator[EventDocument, None]:
    """A thread's events (or one run's, ending after its terminal event), in sequence order.

    The feed is opened before the log is read, so an event committed during the replay is
    either read from the log or found in the feed; `last` drops the ones seen twice. Events
    missing from the feed (a gap in the numbers, or its marker) are read from the log.

    With `push`, a caught-up subscriber's next event is handed to it as the stream brings it,
    without resuming this generator (app/live.py sends it straight to the websocket). `push`
    answers False when it cannot take the event at once; then it comes this way, in order,
    as does everything but the next event in sequence."""
    last = after

    def take_at_once(live: EventDocument | None) -> bool:
        nonlocal last
        if push is None or live is None or live.sequence != last + 1:
            return False  # a marker or a gap: the log is read below
        if live.project_id == project_id and run_id in (None, live.run_id):
            if run_id is not None and live.event in TERMINAL_EVENTS:
                return False  # the last one: the stream ends below
            if not push(live):
                return False
        last = live.sequence
        return True

    async with bus.listen(thread_id) as feed:
        async for event in stored_after(project_id, thread_id, last, run_id=run_id):
            last = event.sequence
            yield event
            if run_id is not None and event.event in TERMINAL_EVENTS:
                return
        if run_id is not None and after > 0:  # from 0, the replay would have read its end
            end = await first_of(project_id, run_id, TERMINAL_EVENTS)
            if end is not None and end.sequence <= last:
                return  # the run ended at or before `after`: nothing more will come
        while True:
            live = await feed.get(take_at_once if push is not None else None)
            until = None if live is None else live.sequence
            if live is not None and live.sequence <= last:
                continue  # already read from the log
            if live is None or live.sequence > last + 1:
                async for missed in stored_after(project_id, thread_id, last, until, run_id):
                    last = missed.sequence
                    yield missed
                    if run_id is not None and missed.event in TERMINAL_EVENTS:
                        return
            if live is None or live.project_id != project_id:
                continue
            last = live.sequence
            if run_id is not None and live.run_id != run_id:
                continue
            yield live
            if run_id is not None and live.event in TERMINAL_EVENTS:
                return
