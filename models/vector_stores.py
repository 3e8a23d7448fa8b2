"""Every read and write of vector stores, their files and chunks (models/vector_store.py).

Ingestion is leased like a run: a worker claims a file (`attempt` grows), heartbeats, writes
its chunks tagged with its attempt, and completes only if the file is still its own and still
`in_progress`; a cancelled, removed or taken-over file refuses the late completion.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError

from models import file_storage
from models.base import earlier_than, utcnow
from models.errors import NotFound
from models.file import files
from models.lease import unheld
from models.message import MessageDocument
from models.thread import ThreadDocument
from models.tools import (
    MAX_CODE_INTERPRETER_FILES,
    CodeInterpreterResources,
    FileSearchResources,
    ToolResources,
)
from models.vector_store import (
    ChunkDocument,
    ChunkingStrategy,
    ErrorCode,
    StoreExpiry,
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
    vector_store_files,
    vector_stores,
)

CLAIM_CANDIDATES = 8
THREAD_STORE_DAYS = 7
TOUCH_EVERY_SECONDS = 60
MAX_ATTEMPTS = 3
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class FileCounts:
    in_progress: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.cancelled + self.failed


async def file_counts(store_id: str, batch_id: str | None = None) -> FileCounts:
    """The files by status, counted in one read. Not one count per status: a file that
    completes between two of them is counted in neither, and a store whose last file just
    completed would read `completed` with no completed file."""
    scope: dict[str, Any] = {"vector_store_id": store_id}
    if batch_id is not None:
        scope["batch_id"] = batch_id
    pipeline = [{"$match": scope}, {"$group": {"_id": "$status", "files": {"$sum": 1}}}]
    collection = VectorStoreFileDocument.get_pymongo_collection()
    groups = await (await collection.aggregate(pipeline)).to_list()
    return FileCounts(**{group["_id"]: group["files"] for group in groups})


def store_status(expired: bool, counts: FileCounts) -> str:
    if expired:
        return "expired"
    return "in_progress" if counts.in_progress else "completed"


def batch_status(cancelled: bool, counts: FileCounts) -> str:
    """A batch with a cancelled file is cancelled: only cancelling its batch cancels a file
    (`cancel_batch` marks the batch first). So a batch read just before its cancellation, with
    its files counted just after, does not read `completed`."""
    if cancelled or counts.cancelled:
        return "cancelled"
    return "in_progress" if counts.in_progress else "completed"


async def ingesting(store_id: str) -> bool:
    """Whether a file of the store is still waiting or being ingested (one bounded read)."""
    collection = VectorStoreFileDocument.get_pymongo_collection()
    scope = {"vector_store_id": store_id, "status": "in_progress"}
    return await collection.find_one(scope, {"_id": 1}) is not None


async def add_files(
    store: VectorStoreDocument,
    file_ids: Sequence[str],
    chunking: ChunkingStrategy | None = None,
    attributes: dict[str, Any] | None = None,
    batch_id: str | None = None,
) -> int:
    """Records the files not yet in the store as waiting for ingestion; how many were new."""
    unique = list(dict.fromkeys(file_ids))
    if not unique:
        return 0
    found = VectorStoreFileDocument.find({"vector_store_id": store.id, "file_id": {"$in": unique}})
    present = {document.file_id async for document in found}
    first = _fresh_attempts()
    documents = [
        VectorStoreFileDocument(
            project_id=store.project_id,
            vector_store_id=store.id,
            file_id=file_id,
            batch_id=batch_id,
            chunking_strategy=chunking or ChunkingStrategy(),
            attributes=attributes or {},
            first_attempt=first,
            attempt=first,
        )
        for file_id in unique
        if file_id not in present
    ]
    if not documents:
        return 0
    try:
        await VectorStoreFileDocument.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        # Another request added some of them since they were looked for: theirs stand.
        if any(e["code"] != DUPLICATE_KEY for e in error.details["writeErrors"]):
            raise
        return int(error.details["nInserted"])
    return len(documents)


def _fresh_attempts() -> int:
    """Where a new entry's attempt numbers start: past any earlier entry's of the same file in
    the same store, as an entry is claimed far fewer than 1,000 times (MAX_ATTEMPTS) and a
    removal and the next add of the file take more than a millisecond."""
    return int(utcnow().timestamp() * 1000) * 1000


async def attach_to_thread(
    thread: ThreadDocument, messages: Sequence[MessageDocument], stored: bool
) -> None:
    """Files attached for FILE_SEARCH go into the thread's vector store, made on demand
    (expiring 7 days after its last activity, as OpenAI's do); files attached for
    CODE_INTERPRETER join the thread's code interpreter files (the newest 20 are kept).
    `stored`: the thread is already written, so its tool resources are updated too: in a
    transaction on the thread as it is then, so that requests attaching files to it at once
    share one store and keep each other's files (each would otherwise write back what it read)."""
    attached = [attachment for message in messages for attachment in message.attachments]
    code_ids = [a.file_id for a in attached if "code_interpreter" in a.tools]
    file_ids = [a.file_id for a in attached if "file_search" in a.tools]
    if not code_ids and not file_ids:
        return
    if stored:

        async def work(session: AsyncClientSession) -> VectorStoreDocument | None:
            scope = {"_id": thread.id, "project_id": thread.project_id}
            current = await ThreadDocument.find_one(scope, session=session)
            if current is None:
                raise NotFound("thread", thread.id)
            store = await _resources_with(current, code_ids, file_ids, session)
            resources = (current.tool_resources or ToolResources()).model_dump()
            await ThreadDocument.get_pymongo_collection().update_one(
                scope, {"$set": {"tool_resources": resources}}, session=session
            )
            thread.tool_resources = current.tool_resources
            return store

        store = await vector_stores.transaction(work)
    else:
        store = await _resources_with(thread, code_ids, file_ids, None)
    if store is not None:
        await add_files(store, file_ids)


async def _resources_with(
    thread: ThreadDocument,
    code_ids: list[str],
    file_ids: list[str],
    session: AsyncClientSession | None,
) -> VectorStoreDocument | None:
    """`thread`'s tool resources (in memory) with the code files joined and, for files to
    search, its store (made now if it has none), which this returns."""
    resources = thread.tool_resources or ToolResources()
    thread.tool_resources = resources
    if code_ids:
        code = resources.code_interpreter or CodeInterpreterResources()
        code.file_ids = list(dict.fromkeys([*code.file_ids, *code_ids]))[
            -MAX_CODE_INTERPRETER_FILES:
        ]
        resources.code_interpreter = code
    if not file_ids:
        return None
    search = resources.file_search or FileSearchResources()
    if search.vector_store_ids:
        return await vector_stores.get(thread.project_id, search.vector_store_ids[0])
    store = VectorStoreDocument(
        project_id=thread.project_id,
        name=f"Files of thread {thread.id}",
        thread_id=thread.id,
        expires_after=StoreExpiry(days=THREAD_STORE_DAYS),
    )
    store.touch(store.created_at)
    await vector_stores.insert(store, session)
    search.vector_store_ids = [store.id]
    resources.file_search = search
    return store


async def claim_ingestion(owner: str, lease_seconds: float) -> VectorStoreFileDocument | None:
    """The oldest file waiting for ingestion that nobody holds. A bounded indexed read of a
    few candidates, then a compare-and-set on one: two workers never claim the same file."""
    now = utcnow()
    collection = VectorStoreFileDocument.get_pymongo_collection()
    waiting = collection.find(
        {"status": "in_progress", **unheld(now)},
        {"attempt": 1},
        sort=[("status", 1), ("created_at", 1)],
        limit=CLAIM_CANDIDATES,
    )
    async for candidate in waiting:
        lease = {"owner": owner, "expires_at": now + timedelta(seconds=lease_seconds)}
        claimed = await collection.update_one(
            {"_id": candidate["_id"], "attempt": candidate["attempt"], "status": "in_progress"},
            {"$set": {"lease": lease}, "$inc": {"attempt": 1}},
        )
        if claimed.modified_count == 1:
            return await VectorStoreFileDocument.get(candidate["_id"])
    return None


def _held(document: VectorStoreFileDocument) -> dict[str, Any]:
    return {"_id": document.id, "attempt": document.attempt, "status": "in_progress"}


async def extend_ingestion_lease(document: VectorStoreFileDocument, lease_seconds: float) -> bool:
    """False once the file is no longer this attempt's to ingest (cancelled, removed, lost)."""
    expires = utcnow() + timedelta(seconds=lease_seconds)
    result = await VectorStoreFileDocument.get_pymongo_collection().update_one(
        _held(document), {"$set": {"lease.expires_at": expires}}
    )
    return result.matched_count == 1


async def release_ingestion(document: VectorStoreFileDocument) -> None:
    """Shutdown: another worker may take the file at once."""
    await VectorStoreFileDocument.get_pymongo_collection().update_one(
        _held(document), {"$set": {"lease": None}}
    )


async def save_chunks(chunks: list[ChunkDocument]) -> None:
    if chunks:
        await ChunkDocument.insert_many(chunks)


async def complete_file(
    document: VectorStoreFileDocument, usage_bytes: int, embedding_model: str | None = None
) -> bool:
    """The attempt's chunks become the file's searchable ones, atomically with the store's
    usage and revision (and the model that embedded them, if one did). False if the file was
    no longer this attempt's."""
    fields: dict[str, Any] = {
        "status": "completed",
        "usage_bytes": usage_bytes,
        "lease": None,
        "embedding_model": embedding_model,
    }

    async def write(session: AsyncClientSession) -> bool:
        done = await VectorStoreFileDocument.get_pymongo_collection().update_one(
            _held(document), {"$set": fields}, session=session
        )
        if done.modified_count == 0:
            return False
        await _store_changed(document.vector_store_id, usage_bytes, session)
        return True

    completed = await vector_store_files.transaction(write)
    await drop_chunks(document, "others" if completed else "this")
    return completed


async def fail_file(document: VectorStoreFileDocument, code: ErrorCode, message: str) -> None:
    await VectorStoreFileDocument.get_pymongo_collection().update_one(
        _held(document),
        {
            "$set": {
                "status": "failed",
                "lease": None,
                "last_error": {"code": code, "message": message[:1000]},
            }
        },
    )
    await drop_chunks(document, "this")


async def give_up_stale(now: datetime | None = None) -> None:
    """Files that failed to ingest MAX_ATTEMPTS times (workers died on them) end `failed`,
    and what their attempts stored goes."""
    collection = VectorStoreFileDocument.get_pymongo_collection()
    stale = {"status": "in_progress", "lease.expires_at": earlier_than(now or utcnow())}
    message = f"Ingestion stopped {MAX_ATTEMPTS} times before it finished."
    async for raw in collection.find(stale):
        document = VectorStoreFileDocument.model_validate(raw)
        if document.attempt - document.first_attempt < MAX_ATTEMPTS:
            continue  # the next claim tries again
        failed = await collection.update_one(
            {**stale, "_id": document.id, "attempt": document.attempt},
            {
                "$set": {
                    "status": "failed",
                    "lease": None,
                    "last_error": {"code": "server_error", "message": message},
                }
            },
        )
        if failed.modified_count:
            await drop_chunks(document, "all")


Attempts = Literal["all", "this", "others", "earlier"]


async def drop_chunks(document: VectorStoreFileDocument, attempts: Attempts) -> None:
    """Chunks of this file in this store: of every attempt, of this document's attempt only,
    of all but it (once it completed), or of the attempts before it (a new attempt starts).
    A worker never drops what a later attempt, which took the file over, has written."""
    scope: dict[str, Any] = {
        "vector_store_id": document.vector_store_id,
        "file_id": document.file_id,
    }
    # Ranges on `attempt` only: a `$ne` would make the delete check every chunk of every store.
    ranges: dict[Attempts, list[str | None]] = {
        "this": ["$eq"],
        "others": ["$lt", "$gt"],
        "earlier": ["$lt"],
        "all": [None],
    }
    collection = ChunkDocument.get_pymongo_collection()
    for operator in ranges[attempts]:
        bounded = scope if operator is None else {**scope, "attempt": {operator: document.attempt}}
        await collection.delete_many(bounded)


async def _store_changed(store_id: str, usage_delta: int, session: AsyncClientSession) -> None:
    await VectorStoreDocument.get_pymongo_collection().update_one(
        {"_id": store_id}, {"$inc": {"usage_bytes": usage_delta, "revision": 1}}, session=session
    )


async def bump_revision(store_id: str) -> None:
    await VectorStoreDocument.get_pymongo_collection().update_one(
        {"_id": store_id}, {"$inc": {"revision": 1}}
    )


async def remove_file(project_id: str, store_id: str, file_id: str) -> bool:
    """Takes a file out of a store (its chunks go with it). False if it was not there.

    An entry not completed goes with one conditional delete, not in a transaction: that would
    conflict with each heartbeat of the worker ingesting it, and retry for as long as they
    come faster than it commits (on a busy database, past any request's time). A completed
    one takes its usage off the store in a transaction."""
    collection = VectorStoreFileDocument.get_pymongo_collection()
    scope = {"project_id": project_id, "vector_store_id": store_id, "file_id": file_id}
    raw = await collection.find_one(scope)
    if raw is None:
        return False
    entry = VectorStoreFileDocument.model_validate(raw)
    if entry.status != "completed":
        unfinished = {"_id": entry.id, "status": {"$ne": "completed"}}
        if (await collection.delete_one(unfinished)).deleted_count:
            await drop_chunks(entry, "all")
            return True
        # It completed meanwhile: removed as a completed one, below.

    async def write(session: AsyncClientSession) -> VectorStoreFileDocument | None:
        raw = await collection.find_one(scope, session=session)
        if raw is None:
            return None
        removed: VectorStoreFileDocument = VectorStoreFileDocument.model_validate(raw)
        await collection.delete_one({"_id": removed.id}, session=session)
        if removed.status == "completed":
            await _store_changed(store_id, -removed.usage_bytes, session)
        return removed

    removed: VectorStoreFileDocument | None = await vector_store_files.transaction(write)
    if removed is None:
        return False
    await drop_chunks(removed, "all")
    return True


async def delete_file(project_id: str, file_id: str) -> bool:
    """A file, everywhere: its record first (gone for every reader at once), then its bytes
    and its place in every vector store. False if it was not there."""
    if not await files.remove(project_id, file_id):
        return False
    await file_storage.delete(file_id)
    await remove_file_everywhere(project_id, file_id)
    return True


async def remove_file_everywhere(project_id: str, file_id: str) -> None:
    """A deleted file leaves every store it was in."""
    found = VectorStoreFileDocument.find({"file_id": file_id, "project_id": project_id})
    for store_id in {document.vector_store_id async for document in found}:
        await remove_file(project_id, store_id, file_id)


async def delete_store(project_id: str, store_id: str) -> None:
    """The store first (gone for every reader at once), then its files and chunks."""
    await vector_stores.delete(project_id, store_id)
    scope = {"vector_store_id": store_id}
    await VectorStoreFileDocument.get_pymongo_collection().delete_many(scope)
    await VectorStoreFileBatchDocument.get_pymongo_collection().delete_many(scope)
    await ChunkDocument.get_pymongo_collection().delete_many(scope)


async def cancel_batch(batch: VectorStoreFileBatchDocument) -> None:
    """The batch's files still waiting or being ingested end `cancelled`."""
    now = utcnow()
    await VectorStoreFileBatchDocument.get_pymongo_collection().update_one(
        {"_id": batch.id, "cancelled_at": None}, {"$set": {"cancelled_at": now}}
    )
    await VectorStoreFileDocument.get_pymongo_collection().update_many(
        {"vector_store_id": batch.vector_store_id, "batch_id": batch.id, "status": "in_progress"},
        {"$set": {"status": "cancelled", "lease": None}},
    )


@dataclass(frozen=True)
class SearchableFile:
    file_id: str
    attempt: int
    attributes: dict[str, Any]
    embedding_model: str | None = None


async def searchable(
    store_id: str, embedding_model: str | None = None
) -> tuple[list[SearchableFile], list[ChunkDocument]]:
    """The store's completed files and their chunks, each a bounded range on an index. Only
    the files embedded by `embedding_model` bring their chunks' vectors (others' would not
    compare with the query's, and are the bulk of a chunk)."""
    files = [
        SearchableFile(
            document.file_id, document.attempt, dict(document.attributes), document.embedding_model
        )
        async for document in VectorStoreFileDocument.find(
            {"vector_store_id": store_id, "status": "completed"}
        )
    ]
    chunks: list[ChunkDocument] = []
    for file in files:
        vectors = embedding_model is not None and file.embedding_model == embedding_model
        chunks += await _chunks_of(store_id, file, vectors)
    return files, chunks


async def _chunks_of(store_id: str, file: SearchableFile, vectors: bool) -> list[ChunkDocument]:
    found = ChunkDocument.get_pymongo_collection().find(
        {"vector_store_id": store_id, "file_id": file.file_id, "attempt": file.attempt},
        None if vectors else {"embedding": False},
        sort=[("index", 1)],
    )
    return [ChunkDocument.model_validate(raw) async for raw in found]


async def file_text(document: VectorStoreFileDocument) -> str:
    """The text a completed file's chunks were cut from, put back together: each chunk is
    `text[start:end]`, overlapping the one before. Stretches of nothing but whitespace that
    chunking left out come back as one newline."""
    found = ChunkDocument.get_pymongo_collection().find(
        {
            "vector_store_id": document.vector_store_id,
            "file_id": document.file_id,
            "attempt": document.attempt,
        },
        {"text": 1, "start": 1, "end": 1},
        sort=[("index", 1)],
    )
    parts: list[str] = []
    reached = 0
    async for chunk in found:
        if chunk["start"] > reached and parts:
            parts.append("\n")
        parts.append(chunk["text"][max(0, reached - chunk["start"]) :])
        reached = max(reached, chunk["end"])
    return "".join(parts)


async def store_revision(store_id: str) -> int | None:
    raw = await VectorStoreDocument.get_pymongo_collection().find_one(
        {"_id": store_id}, {"revision": 1}
    )
    return None if raw is None else int(raw["revision"])


async def touch_stores(store_ids: Sequence[str], now: datetime) -> None:
    """Searching a store makes it active (and moves its expiry, if it has one); at most once a
    minute per store, so that searches do not each cost a write."""
    stale = now - timedelta(seconds=TOUCH_EVERY_SECONDS)
    for store in await VectorStoreDocument.find(
        {"_id": {"$in": list(store_ids)}, "last_active_at": {"$lt": stale}}
    ).to_list():
        store.touch(now)
        await VectorStoreDocument.get_pymongo_collection().update_one(
            {"_id": store.id, "expired": False},
            {"$set": {"last_active_at": store.last_active_at, "expires_at": store.expires_at}},
        )


async def expire_stores(now: datetime | None = None) -> int:
    result = await VectorStoreDocument.get_pymongo_collection().update_many(
        {"expires_at": earlier_than(now or utcnow()), "expired": False},
        {"$set": {"expired": True}},
    )
    return result.modified_count
