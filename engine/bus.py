"""Live events: one change stream per process on the event log, fanned out to this
process's subscribers. Replay and gap repair read the log itself (engine/follow.py)."""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import structlog
from pymongo.errors import PyMongoError

from models.event import EventDocument, parse

log = structlog.get_logger()
QUEUE_LIMIT = 10_000  # a subscriber this far behind drops events and re-reads the log
RETRY_SECONDS = 0.5


class EventBus:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[EventDocument]]] = defaultdict(set)
        self._watcher: asyncio.Task[None] | None = None
        self._watching = asyncio.Event()

    @contextlib.asynccontextmanager
    async def listen(self, thread_id: str) -> AsyncIterator[asyncio.Queue[EventDocument]]:
        """A queue of the thread's events committed from now on (once the stream is open)."""
        await self._ensure_watching()
        queue: asyncio.Queue[EventDocument] = asyncio.Queue(QUEUE_LIMIT)
        self._queues[thread_id].add(queue)
        try:
            yield queue
        finally:
            self._queues[thread_id].discard(queue)
            if not self._queues[thread_id]:
                del self._queues[thread_id]

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
        while True:
            try:
                collection = EventDocument.get_pymongo_collection()
                async with await collection.watch(pipeline, resume_after=resume) as stream:
                    self._watching.set()
                    async for change in stream:
                        resume = change["_id"]
                        self._deliver(parse(change["fullDocument"]))
            except PyMongoError as error:
                log.warning("event_stream_interrupted", error=str(error))
                resume = None if "resume" in str(error).lower() else resume
                await asyncio.sleep(RETRY_SECONDS)

    def _deliver(self, event: EventDocument) -> None:
        for queue in self._queues.get(event.thread_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)
