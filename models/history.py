"""The reads that build a run's prompt: a thread's messages newest first, and a run's own."""

from collections.abc import AsyncIterator

from models.message import MessageDocument


async def newest_first(
    project_id: str, thread_id: str, except_run: str
) -> AsyncIterator[MessageDocument]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote.

    Lazily, in batches: truncation stops reading once the prompt is full, so a 100,000-message
    thread costs no more than its newest messages."""
    query = MessageDocument.find(
        {"thread_id": thread_id, "project_id": project_id, "run_id": {"$ne": except_run}}
    ).sort("-created_at", "-_id")
    async for message in query:
        yield message


async def messages_of_run(
    project_id: str, run_id: str, thread_id: str
) -> dict[str, MessageDocument]:
    found = await MessageDocument.find(
        {"thread_id": thread_id, "project_id": project_id, "run_id": run_id}
    ).to_list()
    return {message.id: message for message in found}
