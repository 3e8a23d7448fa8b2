"""Ingestion: files added to vector stores are extracted, chunked and stored as searchable
chunks by the engine's workers, never in the request.

A file is leased like a run: claimed with an attempt number, heartbeaten, and completed only
if still this attempt's. A worker killed midway loses its lease; another takes the file over
and starts it again (the dead attempt's chunks are dropped). A file that stops workers
MAX_ATTEMPTS times ends `failed`, and an unreadable one ends `failed` with OpenAI's code:
never a crash, never a stuck `in_progress`.

With an embeddings endpoint configured, each chunk is stored with its vector and the file
records the model; a file whose chunks the endpoint could not embed ends `failed` with
`server_error` (the SDK has retried transient errors by then)."""

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from pymongo.errors import PyMongoError

from app import metrics, tracing
from engine.files.embeddings import Embedder, EmbeddingsFailed
from engine.files.unreadable import ExtractionFailed
from models import file_storage
from models import vector_stores as stores_db
from models.base import utcnow
from models.file import FileDocument, expired_files
from models.liveness import process
from models.vector_store import ChunkDocument, ErrorCode, VectorStoreFileDocument

if TYPE_CHECKING:
    from engine.files.chunking import Chunk

log = structlog.get_logger(__name__)
POLL_SECONDS = 1.0
SWEEP_EVERY_SECONDS = 5.0
SAVE_BATCH = 500  # chunks per insert


class Lost(Exception):
    """The file is no longer this attempt's (cancelled, removed, or taken over)."""


class IngestionPool:
    def __init__(
        self, concurrency: int, lease_seconds: float, embedder: Embedder | None = None
    ) -> None:
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.embedder = embedder
        self.running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping = False
        if self.concurrency > 0:
            self._loop = asyncio.create_task(self._claim_loop())

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Ingestion restarts from the beginning anyway: stop at once, hand the files back."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            await self._loop
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _claim_loop(self) -> None:
        last_sweep = 0.0
        clock = asyncio.get_running_loop().time
        while not self._stopping:
            self._wake.clear()
            try:
                if clock() - last_sweep > SWEEP_EVERY_SECONDS:  # not at every wake-up
                    last_sweep = clock()
                    await sweep()
                while len(self.running) < self.concurrency and not self._stopping:
                    claimed = await stores_db.claim_ingestion(process.name, self.lease_seconds)
                    if claimed is None:
                        break
                    self.running[claimed.id] = asyncio.create_task(self._run(claimed))
            except PyMongoError as error:
                log.warning("ingestion_database_error", error=str(error))
            except Exception:  # never let the loop die
                log.exception("ingestion_claim_loop_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def _run(self, document: VectorStoreFileDocument) -> None:
        log.info("ingestion_claimed", file_id=document.file_id, attempt=document.attempt)
        attempt = Attempt(document)
        work = asyncio.create_task(traced(ingest(attempt, self.embedder), document))
        heartbeat = asyncio.create_task(self._heartbeat(attempt, work))
        try:
            with metrics.INGESTION_SECONDS.time():
                await work
        except asyncio.CancelledError:
            # Stopping, or the file is no longer this attempt's: what it stored goes (unless
            # it was already writing its outcome, which decides what stays).
            if not attempt.ending:
                metrics.INGESTIONS.labels(outcome="stopped").inc()
                with contextlib.suppress(PyMongoError):
                    await stores_db.drop_chunks(document, "this")
            if self._stopping:
                await _release(document)
        except PyMongoError as error:  # the lease runs out; another attempt follows
            log.warning("ingestion_database_error", file_id=document.file_id, error=str(error))
            metrics.INGESTIONS.labels(outcome="stopped").inc()
        except Exception:
            log.exception("ingestion_failed", file_id=document.file_id)
            with contextlib.suppress(PyMongoError):
                await attempt.fail("server_error", "Ingestion failed.")
        finally:
            heartbeat.cancel()
            self.running.pop(document.id, None)
            self._wake.set()

    async def _heartbeat(self, attempt: "Attempt", work: asyncio.Task[None]) -> None:
        """Extends the lease; stops the work once the file is no longer this attempt's. Not
        once the attempt writes its outcome: completing is what makes the lease go."""
        interval = min(1.0, self.lease_seconds / 3)
        while not work.done() and not attempt.ending:
            await asyncio.sleep(interval)
            try:
                held = await stores_db.extend_ingestion_lease(attempt.document, self.lease_seconds)
            except PyMongoError as error:
                log.warning("ingestion_heartbeat_failed", error=str(error))
                continue
            if not held and not attempt.ending:
                work.cancel()
                return


@dataclass
class Attempt:
    """One claim of a file; `ending` once it writes its outcome (completed or failed)."""

    document: VectorStoreFileDocument
    ending: bool = False

    async def fail(self, code: ErrorCode, message: str) -> None:
        self.ending = True
        await stores_db.fail_file(self.document, code, message)
        metrics.INGESTIONS.labels(outcome=code).inc()

    async def complete(self, usage_bytes: int, model: str | None) -> bool:
        self.ending = True
        completed = await stores_db.complete_file(self.document, usage_bytes, model)
        metrics.INGESTIONS.labels(outcome="completed" if completed else "stopped").inc()
        return completed


async def traced(work: Awaitable[None], document: VectorStoreFileDocument) -> None:
    """An ingestion attempt as a trace of its own: its database commands and embeddings
    requests are its children."""
    attributes = {
        "threadline.file_id": document.file_id,
        "threadline.vector_store_id": document.vector_store_id,
    }
    with tracing.tracer.start_as_current_span("ingest file", attributes=attributes):
        await work


async def sweep() -> None:
    """What time ends: files that stopped workers too often, expired stores and files."""
    await stores_db.give_up_stale()
    await stores_db.expire_stores()
    await delete_expired_files()


async def delete_expired_files() -> None:
    """Files past their `expires_after`: the record, the bytes, and their place in stores."""
    for file in await expired_files(utcnow()):
        if await stores_db.delete_file(file.project_id, file.id):
            log.info("file_expired", file_id=file.id)


async def _release(document: VectorStoreFileDocument) -> None:
    with contextlib.suppress(PyMongoError):
        await stores_db.release_ingestion(document)


def _extract_text(path: Path, filename: str) -> str:
    # Imported by the first file read: its parsers weigh ~25 MB, which a process that never
    # ingests (a server without workers) does not carry.
    from engine.files.extract import extract_text

    return extract_text(path, filename)


def _chunk_text(text: str, size: int, overlap: int) -> "list[Chunk]":
    # Imported by the first chunking, as the parsers are: its numpy is ~12 MB.
    from engine.files.chunking import chunk_text

    return chunk_text(text, size, overlap)


async def ingest(attempt: Attempt, embedder: Embedder | None = None) -> None:
    """Extract, chunk, embed and store the chunks, complete: or end `failed` with a reason."""
    document = attempt.document
    file = await FileDocument.find_one({"_id": document.file_id})
    if file is None:
        await attempt.fail("invalid_file", "The file was deleted.")
        return
    try:
        async with file_storage.spooled(file.id) as path:
            text = await asyncio.to_thread(_extract_text, path, file.filename)
    except ExtractionFailed as failure:
        log.info("ingestion_refused", file_id=file.id, code=failure.code)
        await attempt.fail(failure.code, failure.message)
        return
    static = document.chunking_strategy.static
    chunks = await asyncio.to_thread(
        _chunk_text, text, static.max_chunk_size_tokens, static.chunk_overlap_tokens
    )
    await stores_db.drop_chunks(document, "earlier")  # what a dead worker left
    try:
        await _store_chunks(document, chunks, embedder)
    except EmbeddingsFailed as failure:
        log.warning("ingestion_embeddings_failed", file_id=file.id, error=failure.message)
        message = f"The embeddings endpoint failed: {failure.message}"
        await attempt.fail("server_error", message)
        return
    model = embedder.model if embedder else None
    if await attempt.complete(len(text.encode()), model):
        log.info("ingestion_completed", file_id=file.id, chunks=len(chunks), embedded_by=model)


async def _store_chunks(
    document: VectorStoreFileDocument, chunks: "list[Chunk]", embedder: Embedder | None
) -> None:
    """SAVE_BATCH chunks at a time, each batch embedded first when an endpoint is set."""
    for start in range(0, len(chunks), SAVE_BATCH):
        batch = chunks[start : start + SAVE_BATCH]
        vectors: list[list[float] | None] = [None] * len(batch)
        if embedder is not None:
            vectors = list(await embedder.embed([chunk.text for chunk in batch]))
        await stores_db.save_chunks(
            [
                ChunkDocument(
                    vector_store_id=document.vector_store_id,
                    file_id=document.file_id,
                    attempt=document.attempt,
                    index=start + offset,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    tokens=chunk.tokens,
                    embedding=vector,
                )
                for offset, (chunk, vector) in enumerate(zip(batch, vectors, strict=True))
            ]
        )
