"""The reads that build a run's prompt: a thread's messages newest first, and a run's own."""

from collections.abc import AsyncIterator
from datetime import datetime

from models.message import MessageDocument
from models.windows import narrowed, windows_back


async def newest_first(
    project_id: str, thread_id: str, except_run: str, since: datetime
) -> AsyncIterator[MessageDocument]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote.

    Lazily, a window of creation time at a time (models/windows.py): truncation stops reading
    once the prompt is full, so a 100,000-message thread costs about what its newest do."""
    scope = {"thread_id": thread_id, "project_id": project_id, "run_id": {"$ne": except_run}}
    for window in windows_back(since):
        query = narrowed(scope, window)
        async for message in MessageDocument.find(query).sort("-created_at", "-_id"):
            yield message


async def messages_by_id(project_id: str, ids: list[str]) -> dict[str, MessageDocument]:
    """By `_id`: an index every database uses, however long the thread."""
    found = await MessageDocument.find({"_id": {"$in": ids}, "project_id": project_id}).to_list()
    return {message.id: message for message in found}
