"""The reads that build a run's prompt: a thread's first messages, its messages newest first,
and a run's own. Each is bounded however long the thread: ranges of positions, read lazily."""

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from models.message import MessageDocument
from models.pagination import FIRST_RANGE, Numbered, numbered, take, twice
from models.thread import ThreadDocument


async def newest_first(
    project_id: str,
    thread_id: str,
    except_run: str,
    top: int | None = None,
    grow: Callable[[int], int] = twice,
) -> AsyncGenerator[MessageDocument, None]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote
    (`top`: the thread's `last_position`, when the caller has read it already; `grow`: each
    next range's width from the last's, see `numbered`).

    Lazily: truncation stops reading once the prompt is full (close the iterator, e.g. with
    `contextlib.aclosing`, to end the read at once)."""
    if top is None:
        top = await last_position(project_id, thread_id)
    newer = _others(project_id, thread_id, except_run, top, False, grow=grow)
    async with aclosing(newer) as messages:
        async for message in messages:
            yield message


async def oldest_first(
    project_id: str, thread_id: str, except_run: str, count: int, top: int | None = None
) -> list[MessageDocument]:
    """The thread's first `count` messages, leaving out those `except_run` wrote."""
    if top is None:
        top = await last_position(project_id, thread_id)
    # A range as wide as the count: one read of just those, unless some were deleted.
    return await take(_others(project_id, thread_id, except_run, top, True, count), count)


async def last_position(project_id: str, thread_id: str) -> int:
    """The thread's last message position (0 for no thread: its reads find nothing)."""
    scope = {"_id": thread_id, "project_id": project_id}
    thread = await ThreadDocument.get_pymongo_collection().find_one(scope, {"message_position": 1})
    return int(thread.get("message_position", 0)) if thread else 0


async def _others(
    project_id: str,
    thread_id: str,
    except_run: str,
    top: int,
    ascending: bool,
    width: int = FIRST_RANGE,
    grow: Callable[[int], int] = twice,
) -> AsyncGenerator[MessageDocument, None]:
    """Filtered here rather than in the query, so that it stays a range of the thread's
    positions whatever index a planner would pick for the run."""
    scope: dict[str, Any] = {"thread_id": thread_id, "project_id": project_id}
    read = numbered(MessageDocument, scope, Numbered(top), ascending, width=width, grow=grow)
    async with aclosing(read) as messages:
        async for message in messages:
            if message.run_id != except_run:
                yield message


async def messages_by_id(project_id: str, ids: list[str]) -> dict[str, MessageDocument]:
    """By `_id`: an index every database uses, however long the thread."""
    found = await MessageDocument.find({"_id": {"$in": ids}, "project_id": project_id}).to_list()
    return {message.id: message for message in found}
