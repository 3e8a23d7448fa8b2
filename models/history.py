"""The reads that build a run's prompt: a thread's first messages, its messages newest first,
and a run's own. Each is bounded however long the thread: ranges of positions, read lazily,
and a process reads again only what was written since it last read a thread's newest messages
(models/history_window.py)."""

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from pydantic import Field

from models.base import StoredView
from models.history_window import Mark, ThreadKey, Window, recall, remember
from models.message import ContentPart, MessageDocument, MessageStatus, Role, texts
from models.pagination import FIRST_RANGE, Numbered, find_validated, numbered, take, twice
from models.thread import ThreadDocument


class PromptMessage(StoredView):
    """A stored message as a prompt reads it: what the model is sent, and what picks it."""

    stored_as = MessageDocument

    id: str = Field(alias="_id")
    project_id: str
    # The document's own defaults, so that whatever it reads, this reads too.
    role: Role = "user"
    status: MessageStatus = "completed"
    content: list[ContentPart] = Field(default_factory=list)
    run_id: str | None = None
    position: int = 0
    # What the message costs in each tokenizer's tokens, once a prompt counted it (never
    # stored): kept with the message while the process remembers it (models/history_window.py).
    token_counts: dict[str, int] = Field(default_factory=dict, exclude=True)

    @property
    def text(self) -> str:
        return "".join(texts(self.content))


async def newest_first(
    project_id: str,
    thread_id: str,
    except_run: str,
    mark: Mark | None = None,
    grow: Callable[[int], int] = twice,
) -> AsyncGenerator[PromptMessage, None]:
    """The thread's messages from the newest back, leaving out those `except_run` wrote
    (`mark`: the thread's `history_mark`, when the caller has read it already; `grow`: each
    next range's width from the last's, see `numbered`).

    Lazily: truncation stops reading once the prompt is full (close the iterator, e.g. with
    `contextlib.aclosing`, to end the read at once)."""
    if mark is None:
        mark = await history_mark(project_id, thread_id)
    thread = (project_id, thread_id)
    recalled = recall(thread, mark)
    seen: list[PromptMessage] = []
    whole = False  # read to the thread's first message
    read = _others(_newest(thread, mark, recalled, grow), except_run, seen)
    try:
        async with aclosing(read) as messages:
            async for message in messages:
                yield message
        whole = True
    finally:
        remember(thread, mark, seen, recalled, whole)


async def oldest_first(
    project_id: str, thread_id: str, except_run: str, count: int, mark: Mark | None = None
) -> list[PromptMessage]:
    """The thread's first `count` messages, leaving out those `except_run` wrote."""
    if mark is None:
        mark = await history_mark(project_id, thread_id)
    # A range as wide as the count: one read of just those, unless some were deleted.
    read = numbered(
        PromptMessage, _scope((project_id, thread_id)), Numbered(mark.top), True, width=count
    )
    return await take(_others(read, except_run), count)


async def history_mark(project_id: str, thread_id: str) -> Mark:
    """Where the thread's history stands (position 0 for no thread: its reads find nothing)."""
    scope = {"_id": thread_id, "project_id": project_id}
    fields = {"message_position": 1, "history_changes": 1}
    thread = await ThreadDocument.get_pymongo_collection().find_one(scope, fields)
    if thread is None:
        return Mark(0, 0)
    return Mark(int(thread.get("message_position", 0)), int(thread.get("history_changes", 0)))


async def _newest(
    thread: ThreadKey, mark: Mark, recalled: Window | None, grow: Callable[[int], int]
) -> AsyncGenerator[PromptMessage, None]:
    """All of the thread's messages from the newest back: those newer than the recalled
    window read in one range, the window's, then the older read in ranges."""
    scope = _scope(thread)
    start, width = None, FIRST_RANGE
    if recalled is not None:
        newer = {**scope, "position": {"$gt": recalled.high}}
        for message in await find_validated(PromptMessage, newer, [("position", -1)]):
            yield message
        for message in recalled.messages:
            yield message
        if recalled.low <= 1:
            return
        start, width = recalled.low, grow(FIRST_RANGE)
    read = numbered(PromptMessage, scope, Numbered(mark.top), False, start, width=width, grow=grow)
    async with aclosing(read) as messages:
        async for message in messages:
            yield message


async def _others(
    read: AsyncGenerator[PromptMessage, None],
    except_run: str,
    seen: list[PromptMessage] | None = None,
) -> AsyncGenerator[PromptMessage, None]:
    """Filtered here rather than in the query, so that it stays a range of the thread's
    positions whatever index a planner would pick for the run. Every message read, yielded
    or not, is added to `seen`, if given."""
    async with aclosing(read) as messages:
        async for message in messages:
            if seen is not None:
                seen.append(message)
            if message.run_id != except_run:
                yield message


def _scope(thread: ThreadKey) -> dict[str, Any]:
    project_id, thread_id = thread
    return {"thread_id": thread_id, "project_id": project_id}


async def messages_by_id(project_id: str, ids: list[str]) -> dict[str, PromptMessage]:
    """By `_id`: an index every database uses, however long the thread."""
    query = {"_id": {"$in": ids}, "project_id": project_id}
    return {message.id: message for message in await find_validated(PromptMessage, query)}
