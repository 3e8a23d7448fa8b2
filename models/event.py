"""The durable event log: every run event, numbered 1, 2, 3… per thread, stored before
anyone sees it. Subscribers replay it and then follow it live."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pymongo import IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession

from models.base import ScopedDocument, utcnow
from models.errors import NotFound
from models.ids import new_id
from models.repository import Repository
from models.thread import ThreadDocument

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
    session: AsyncClientSession, project_id: str, thread_id: str, new: list[NewEvent]
) -> list[EventDocument]:
    """Numbers and stores `new` inside the caller's transaction.

    The numbers come from an `$inc` on the thread: two writers on one thread conflict there,
    one retries, so sequences are contiguous and committed in order (no gap, no duplicate)."""
    if not new:
        return []
    # update_one then find_one rather than find_one_and_update: the embedded database scans
    # the whole collection for a findAndModify, even by _id.
    threads = ThreadDocument.get_pymongo_collection()
    scope = {"_id": thread_id, "project_id": project_id}
    now = utcnow()
    update: dict[str, Any] = {"$inc": {"event_sequence": len(new)}}
    if any(not item.event.endswith(".delta") for item in new):
        # The thread's activity, in the write that numbers the events anyway: no extra write,
        # and no new conflict. Deltas are left out: they come many times a second.
        update["$max"] = {"last_activity_at": now}
    counted = await threads.update_one(scope, update, session=session)
    thread = await threads.find_one(scope, {"event_sequence": 1}, session=session)
    if counted.matched_count == 0 or thread is None:
        raise NotFound("thread", thread_id)
    first = int(thread["event_sequence"]) - len(new) + 1
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
