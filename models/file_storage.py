"""Files' bytes in GridFS's layout (`file_bytes.files`, `file_bytes.chunks`), streamed both
ways a chunk at a time: never a whole file in memory.

The chunks are written and read here one by one rather than through PyMongo's GridIn and
GridOut: GridIn buffers 32 MB of chunks for one insert_many (a 200 MB upload grew the
server's peak memory by 146 MB, measured), and GridOut reads whole cursor batches. The layout
is GridFS's own, so any GridFS tool (`mongofiles`, PyMongo's AsyncGridFSBucket) reads it.

The GridFS file's id is the Threadline file id. The bytes are written before the file's
document (so a listed file always has its bytes) and deleted after it.
"""

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from models.base import utcnow
from models.file import FileDocument

BUCKET = "file_bytes"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
READ_BYTES = 1024 * 1024  # how much of an upload is read at a time

Read = Callable[[int], Awaitable[bytes]]


class TooLarge(Exception):
    """The stream passed `max_bytes`; nothing was kept."""


def _collection(suffix: str) -> AsyncCollection[dict[str, Any]]:
    database = FileDocument.get_pymongo_collection().database
    return database[f"{BUCKET}.{suffix}"]


async def ensure_indexes() -> None:
    """GridFS's own index on chunks: each file's chunks in order, each number once."""
    await _collection("chunks").create_indexes(
        [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)]
    )


async def store(file_id: str, filename: str, read: Read, max_bytes: int) -> int:
    """Copies what `read` yields into GridFS; returns the size. Past `max_bytes`, or on any
    failure, what was written is removed and the error raised."""
    chunks = _collection("chunks")
    size, number, pending = 0, 0, b""
    try:
        while data := await read(READ_BYTES):
            size += len(data)
            if size > max_bytes:
                raise TooLarge()
            pending += data
            while len(pending) >= CHUNK_BYTES:
                chunk, pending = pending[:CHUNK_BYTES], pending[CHUNK_BYTES:]
                await chunks.insert_one({"files_id": file_id, "n": number, "data": chunk})
                number += 1
        if pending:
            await chunks.insert_one({"files_id": file_id, "n": number, "data": pending})
        await _collection("files").insert_one(
            {
                "_id": file_id,
                "length": size,
                "chunkSize": CHUNK_BYTES,
                "uploadDate": utcnow(),
                "filename": filename,
            }
        )
    except BaseException:
        await delete(file_id)
        raise
    return size


async def chunks(file_id: str) -> AsyncIterator[bytes]:
    """The file's bytes, a GridFS chunk at a time (a few chunks fetched per round trip)."""
    cursor = _collection("chunks").find(
        {"files_id": file_id}, {"data": 1}, sort=[("n", ASCENDING)], batch_size=4
    )
    try:
        async for chunk in cursor:
            yield bytes(chunk["data"])
    finally:
        await cursor.close()


async def head(file_id: str, limit: int) -> bytes:
    """The file's first `limit` bytes (a file's header): only the chunks that hold them."""
    wanted = -(-limit // CHUNK_BYTES)
    cursor = _collection("chunks").find(
        {"files_id": file_id}, {"data": 1}, sort=[("n", ASCENDING)], limit=wanted
    )
    found = b"".join([bytes(chunk["data"]) async for chunk in cursor])
    return found[:limit]


@asynccontextmanager
async def spooled(file_id: str) -> AsyncIterator[Path]:
    """The file's bytes in a temporary file on disk, for readers that need a path."""
    with tempfile.TemporaryDirectory(prefix="threadline-file-") as folder:
        path = Path(folder) / "content"
        with path.open("wb") as out:
            async for chunk in chunks(file_id):
                out.write(chunk)
        yield path


async def delete(file_id: str) -> None:
    """Idempotent: a retried delete finds nothing left."""
    await _collection("files").delete_one({"_id": file_id})
    await _collection("chunks").delete_many({"files_id": file_id})
