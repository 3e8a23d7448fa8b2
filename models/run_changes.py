"""One atomic change of a run: its new fields, the steps and messages it touches, and the
events that tell subscribers, committed together or not at all."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from beanie.odm.utils.encoder import Encoder
from pymongo.asynchronous.client_session import AsyncClientSession

from models.base import ScopedDocument
from models.event import EventDocument, NewEvent, append
from models.message import MessageDocument
from models.run import RunDocument, runs

_encoder = Encoder(to_db=True)


class RunChanged(Exception):
    """The stored run no longer matches what the writer expected (status or fence)."""


@dataclass
class Change:
    run: RunDocument
    # The stored run must be in one of these statuses…
    expect_statuses: Collection[str]
    # …and, for a worker's writes, still carry the worker's fence.
    expect_fence: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    documents: Sequence[ScopedDocument] = ()
    events: Sequence[NewEvent] = ()


async def commit(change: Change) -> tuple[RunDocument, list[EventDocument]]:
    """Writes the change in one transaction; raises RunChanged when its guard fails."""
    run = change.run
    updated = run.model_copy(update={**change.fields, "revision": run.revision + 1})
    guard: dict[str, Any] = {
        "_id": run.id,
        "project_id": run.project_id,
        "status": {"$in": list(change.expect_statuses)},
    }
    if change.expect_fence is not None:
        guard["fence"] = change.expect_fence
    values = {name: _encoder.encode(getattr(updated, name)) for name in change.fields}
    # Messages written for the first time take their place in the thread here.
    new_messages = [
        document
        for document in change.documents
        if isinstance(document, MessageDocument) and not document.position
    ]

    async def work(session: AsyncClientSession) -> list[EventDocument]:
        written = await RunDocument.get_pymongo_collection().update_one(
            guard, {"$set": values, "$inc": {"revision": 1}}, session=session
        )
        if written.matched_count == 0:
            raise RunChanged(run.id)
        # The events' numbers and the new messages' positions, in one write to the thread,
        # before the messages are written.
        stored = await append(
            session, run.project_id, run.thread_id, list(change.events), new_messages
        )
        for document in change.documents:
            await _write(document, session)
        return stored

    try:
        stored = await runs.transaction(work)
    except BaseException:
        for message in new_messages:
            message.position = 0  # not written: numbered again when it is
        raise
    return updated, stored


# What the API may change on a step or message while its run writes it (`updateMessage`): the
# run writes it when it creates the document, never over what the API wrote since.
API_OWNED = frozenset({"metadata"})


async def _write(document: ScopedDocument, session: AsyncClientSession) -> None:
    """Creates or updates one of the run's steps or messages. An update by `_id`, not Beanie's
    save(): the embedded database scans the whole collection for the findAndModify it sends."""
    encoded = _encoder.encode(document)
    engine_owned = {k: v for k, v in encoded.items() if k != "_id" and k not in API_OWNED}
    api_owned = {k: v for k, v in encoded.items() if k in API_OWNED}
    await (
        type(document)
        .get_pymongo_collection()
        .update_one(
            {"_id": document.id},
            {"$set": engine_owned, **({"$setOnInsert": api_owned} if api_owned else {})},
            upsert=True,
            session=session,
        )
    )
