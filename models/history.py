"""The reads that build a run's prompt: a thread's messages newest first, and a run's own."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from models.base import utcnow
from models.message import MessageDocument

FIRST_WINDOW = timedelta(minutes=1)
GROWTH = 2


async def newest_first(
    project_id: str, thread_id: str, except_run: str, since: datetime
) -> AsyncIterator[MessageDocument]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote.

    Lazily: truncation stops reading once the prompt is full. Read in windows of creation time
    that double from now backwards (the last one open): each query is bounded by an index
    range, so a database that cannot sort by the index (the embedded one) sorts one window,
    not a 100,000-message thread. `since` (the thread's creation) ends the doubling early."""
    scope = {"thread_id": thread_id, "project_id": project_id, "run_id": {"$ne": except_run}}
    now, width, upper = utcnow(), FIRST_WINDOW, None
    while True:
        lower: datetime | None = now - width
        if lower is not None and lower <= since:
            lower = None
        bounds: dict[str, Any] = {}
        if lower is not None:
            bounds["$gte"] = lower
        if upper is not None:
            bounds["$lt"] = upper
        query = {**scope, "created_at": bounds} if bounds else scope
        async for message in MessageDocument.find(query).sort("-created_at", "-_id"):
            yield message
        if lower is None:
            return
        upper, width = lower, width * GROWTH


async def messages_of_run(
    project_id: str, run_id: str, thread_id: str
) -> dict[str, MessageDocument]:
    found = await MessageDocument.find(
        {"thread_id": thread_id, "project_id": project_id, "run_id": run_id}
    ).to_list()
    return {message.id: message for message in found}
