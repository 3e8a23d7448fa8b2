"""The reads that build a run's prompt: a thread's first messages, its messages newest first,
and a run's own. Each is bounded: the embedded database sorts a thread's messages whole, but
only the messages asked for are handed over, a batch at a time."""

from collections.abc import AsyncGenerator
from typing import Any

from models.message import MessageDocument

# Messages per batch of a newest-first read. Without it, a cursor's later batches are as large
# as the database allows (16 MB): most of a long thread, for a prompt that needs its newest.
BATCH = 100


def _scope(project_id: str, thread_id: str, except_run: str) -> dict[str, Any]:
    return {"thread_id": thread_id, "project_id": project_id, "run_id": {"$ne": except_run}}


async def newest_first(
    project_id: str, thread_id: str, except_run: str
) -> AsyncGenerator[MessageDocument, None]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote.

    Lazily, in batches: truncation stops reading once the prompt is full (close the iterator,
    e.g. with `contextlib.aclosing`, to end the read at once)."""
    cursor = MessageDocument.get_pymongo_collection().find(
        _scope(project_id, thread_id, except_run),
        sort=[("created_at", -1), ("_id", -1)],
        batch_size=BATCH,
    )
    try:
        async for raw in cursor:
            yield MessageDocument.model_validate(raw)
    finally:
        await cursor.close()


async def oldest_first(
    project_id: str, thread_id: str, except_run: str, count: int
) -> list[MessageDocument]:
    """The thread's first `count` messages, leaving out those `except_run` wrote."""
    return (
        await MessageDocument.find(_scope(project_id, thread_id, except_run))
        .sort("+created_at", "+_id")
        .limit(count)
        .to_list()
    )


async def messages_by_id(project_id: str, ids: list[str]) -> dict[str, MessageDocument]:
    """By `_id`: an index every database uses, however long the thread."""
    found = await MessageDocument.find({"_id": {"$in": ids}, "project_id": project_id}).to_list()
    return {message.id: message for message in found}
