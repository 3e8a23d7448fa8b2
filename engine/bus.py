"""Live events: one change stream per process on the event log, fanned out to this
process's subscribers. Replay and gap repair read the log itself (engine/follow.py).

Nothing polls: a subscriber learns that it may have missed events (its feed overflowed, or
the stream was interrupted) from a marker in its feed, and only then re-reads the log."""

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from pymongo.errors import PyMongoError

from models.event import EventDocument, parse

log = structlog.get_logger(__name__)
QUEUE_LIMIT = 10_000  # a subscriber this far behind drops events and re-reads the log
RETRY_SECONDS = 0.5
# Feeds given an event before the loop runs other work: about 30 ms of websocket sends, so
# one event to 10,000 subscribers of a thread never holds the process for 0.3 s at once.
SENDS_BETWEEN_TURNS = 1024


class Feed:
    """One subscriber's live events in commit order. `None` in place of events: some may be
    missing (the subscriber fell QUEUE_LIMIT behind, or the stream was interrupted), so the
    log is to be read again from the last event seen.

    While its subscriber waits with nothing queued, each item is first offered to the
    subscriber's `at_once` (see `get`): a thousand subscribers to one thread then take an
    event in one pass of the stream's task, with no task woken for each."""

    def __init__(self) -> None:
        self._items: deque[EventDocument | None] = deque()
        self._ready = asyncio.Event()
        self._at_once: Callable[[EventDocument | None], bool] | None = None

    def put(self, item: EventDocument | None) -> None:
        if self._at_once is not None and not self._items and self._taken_at_once(item):
            return
        if item is not None and len(self._items) >= QUEUE_LIMIT:
            self._items.clear()  # the log has them all: one read instead
            item = None
        if item is None and self._items and self._items[-1] is None:
            return
        self._items.append(item)
        self._ready.set()

    async def get(
        self, at_once: Callable[[EventDocument | None], bool] | None = None
    ) -> EventDocument | None:
        """The next item. While this waits, `at_once` is offered each item first: what it
        takes (it answers True) is done with, and is not queued."""
        while not self._items:
            self._ready.clear()
            self._at_once = at_once
            try:
                await self._ready.wait()
            finally:
                self._at_once = None
        return self._items.popleft()

    def _taken_at_once(self, item: EventDocument | None) -> bool:
        assert self._at_once is not None
        try:
            return self._at_once(item)
        except Exception:  # one subscriber's failure is not the others': it gets it queued
            log.exception("event_not_taken_at_once")
            return False


class EventBus:
    def __init__(self) -> None:
        self._feeds: dict[str, set[Feed]] = defaultdict(set)
        self._watcher: asyncio.Task[None] | None = None
        self._watching = asyncio.Event()

    @contextlib.asynccontextmanager
    async def listen(self, thread_id: str) -> AsyncIterator[Feed]:
        """The thread's events committed from now on (once the stream is open)."""
        await self._ensure_watching()
        feed = Feed()
        self._feeds[thread_id].add(feed)
        try:
            yield feed
        finally:
            self._feeds[thread_id].discard(feed)
            if not self._feeds[thread_id]:
                del self._feeds[thread_id]

    def listeners(self, thread_id: str) -> int:
        """How many subscribers listen to the thread's events in this process now."""
        return len(self._feeds.get(thread_id, ()))

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _ensure_watching(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watching.clear()
            self._watcher = asyncio.create_task(self._watch())
        await self._watching.wait()

    async def _watch(self) -> None:
        resume: Any = None
        pipeline = [{"$match": {"operationType": "insert"}}]
        interrupted = False
        while True:
            try:
                collection = EventDocument.get_pymongo_collection()
                async with await collection.watch(pipeline, resume_after=resume) as stream:
                    self._watching.set()
                    if interrupted:  # what was committed meanwhile may never come: re-read
                        self._resync()
                        interrupted = False
                    async for change in stream:
                        resume = change["_id"]
                        await self._deliver(parse(change["fullDocument"]))
            except PyMongoError as error:
                log.warning("event_stream_interrupted", error=str(error))
                resume = None if "resume" in str(error).lower() else resume
                interrupted = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _deliver(self, event: EventDocument) -> None:
        # Subscribers that have caught up are sent the event right here (see Feed): a big
        # audience's sends leave the loop to the process's other work now and then.
        feeds = list(self._feeds.get(event.thread_id, ()))
        for count, feed in enumerate(feeds, 1):
            feed.put(event)
            if count % SENDS_BETWEEN_TURNS == 0:
                await asyncio.sleep(0)

    def _resync(self) -> None:
        for feeds in self._feeds.values():
            for feed in feeds:
                feed.put(None)
