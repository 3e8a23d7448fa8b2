"""The reads that build a run's prompt: a thread's messages newest first, and a run's own."""

from collections.abc import AsyncIterator

from models.message import MessageDocument


async def newest_first(
    project_id: str, thread_id: str, except_run: str
) -> AsyncIterator[MessageDocument]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote.

    Lazily, in batches: truncation stops reading once the prompt is full. (On MongoDB the
    thread's index serves the sort; the embedded database sorts the whole thread first.)"""
    query = MessageDocument.find(
        {"thread_id": thread_id, "project_id": project_id, "run_id": {"$ne": except_run}}
    ).sort("-created_at", "-_id")
    async for message in query:
        yield message


async def messages_by_id(project_id: str, ids: list[str]) -> dict[str, MessageDocument]:
    """By `_id`: an index every database uses, however long the thread."""
    found = await MessageDocument.find({"_id": {"$in": ids}, "project_id": project_id}).to_list()
    return {message.id: message for message in found}
