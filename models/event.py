"""The durable event log: every run event, numbered 1, 2, 3… per thread, stored before
anyone sees it. Subscribers replay it and then follow it live."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field
from pymongo import IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from models.base import ScopedDocument, utcnow
from models.ids import new_id
from models.message import MessageDocument
from models.repository import Repository
from models.thread import ThreadDocument
from models.thread_numbers import Numbering, take_numbers

REPLAY_BATCH = 500


class EventDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("evt"))
    thread_id: str
    run_id: str
    sequence: int
    event: str
    data: dict[str, Any] = Field(default_factory=dict)

    class Settings:
        name = "events"
        # As for messages (models/message.py): each read on a prefix of an index's fields.
        indexes = [
            IndexModel([("thread_id", 1), ("sequence", 1)], unique=True),
            IndexModel([("project_id", 1), ("thread_id", 1), ("sequence", 1)]),
            IndexModel([("project_id", 1), ("thread_id", 1), ("run_id", 1), ("sequence", 1)]),
            IndexModel([("project_id", 1), ("run_id", 1), ("event", 1)]),
        ]


events = Repository(EventDocument, "event", "evt_")


@dataclass(frozen=True)
class NewEvent:
    event: str
    run_id: str
    data: dict[str, Any] = field(default_factory=dict)


async def append(
    session: AsyncClientSession,
    project_id: str,
    thread_id: str,
    new: list[NewEvent],
    messages: Sequence[MessageDocument] = (),
) -> list[EventDocument]:
    """Numbers and stores `new` inside the caller's transaction, and gives `messages` (new in
    the same transaction) their positions in the same write (models/thread_numbers.py).

    The numbers come from an `$inc` on the thread: two writers on one thread conflict there,
    one retries, so sequences are contiguous and committed in order (no gap, no duplicate)."""
    now = utcnow()
    numbering = _numbering(new, messages, now)
    if not numbering.events and not numbering.messages:
        return []
    first = await take_numbers(session, project_id, thread_id, numbering)
    return await _store(session, project_id, thread_id, new, first, now)


async def append_to_new(
    session: AsyncClientSession,
    thread: ThreadDocument,
    new: list[NewEvent],
    messages: Sequence[MessageDocument] = (),
) -> list[EventDocument]:
    """`append` for a thread the caller's transaction inserts after this: numbered on the
    document itself, so no write to read back (see Numbering.apply)."""
    now = utcnow()
    first = _numbering(new, messages, now).apply(thread)
    return await _store(session, thread.project_id, thread.id, new, first, now)


def _numbering(
    new: list[NewEvent], messages: Sequence[MessageDocument], now: datetime
) -> Numbering:
    # The thread's activity, in the write that numbers the events anyway: no extra write,
    # and no new conflict. Deltas are left out: they come many times a second.
    told = any(not item.event.endswith(".delta") for item in new)
    return Numbering(messages=messages, events=len(new), active_at=now if told else None)


async def _store(
    session: AsyncClientSession,
    project_id: str,
    thread_id: str,
    new: list[NewEvent],
    first: int,
    now: datetime,
) -> list[EventDocument]:
    stored = [
        EventDocument(
            project_id=project_id,
            thread_id=thread_id,
            run_id=item.run_id,
            sequence=first + offset,
            event=item.event,
            data=item.data,
            created_at=now,
        )
        for offset, item in enumerate(new)
    ]
    if stored:
        await EventDocument.insert_many(stored, session=session)
    return stored


async def stored_after(
    project_id: str,
    thread_id: str,
    after: int,
    until: int | None = None,
    run_id: str | None = None,
) -> AsyncIterator[EventDocument]:
    """The stored events of a thread (or of one run) after `after`, in order, in batches."""
    while True:
        query: dict[str, Any] = {
            "thread_id": thread_id,
            "project_id": project_id,
            "sequence": {"$gt": after} if until is None else {"$gt": after, "$lt": until},
        }
        if run_id is not None:
            query["run_id"] = run_id
        batch = await EventDocument.find(query).sort("+sequence").limit(REPLAY_BATCH).to_list()
        for document in batch:
            yield document
        if len(batch) < REPLAY_BATCH:
            return
        after = batch[-1].sequence


def parse(raw: dict[str, Any]) -> EventDocument:
    """An event as a change stream delivers it (the raw stored document)."""
    event: EventDocument = EventDocument.model_validate(raw)
    return event


async def first_of(project_id: str, run_id: str, names: frozenset[str]) -> EventDocument | None:
    """The run's first stored event named one of `names`."""
    return await EventDocument.find_one(
        {"run_id": run_id, "project_id": project_id, "event": {"$in": list(names)}}
    )
