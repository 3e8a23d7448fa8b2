"""Files' bytes in GridFS, streamed in both directions: never a whole file in memory.

The GridFS file's id is the Threadline file id. The bytes are written before the file's
document (so a listed file always has its bytes) and deleted after it.
"""

import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from gridfs import AsyncGridFSBucket, NoFile

from models.file import FileDocument

BUCKET = "file_bytes"
CHUNK_BYTES = 1024 * 1024  # reads and writes move this much at a time

Read = Callable[[int], Awaitable[bytes]]


class TooLarge(Exception):
    """The stream passed `max_bytes`; nothing was kept."""


def _bucket() -> AsyncGridFSBucket:
    database = FileDocument.get_pymongo_collection().database
    return AsyncGridFSBucket(database, bucket_name=BUCKET, chunk_size_bytes=255 * 1024)


async def store(file_id: str, filename: str, read: Read, max_bytes: int) -> int:
    """Copies what `read` yields into GridFS; returns the size. Past `max_bytes`, or on any
    failure, what was written is removed and the error raised."""
    upload = _bucket().open_upload_stream_with_id(file_id, filename)
    size = 0
    try:
        while chunk := await read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge()
            await upload.write(chunk)
    except BaseException:
        await upload.abort()
        raise
    await upload.close()
    return size


async def chunks(file_id: str) -> AsyncIterator[bytes]:
    """The file's bytes, a GridFS chunk at a time."""
    download = await _bucket().open_download_stream(file_id)
    try:
        while chunk := await download.readchunk():
            yield chunk
    finally:
        await download.close()


async def exists(file_id: str) -> bool:
    cursor = _bucket().find({"_id": file_id}, limit=1)
    return bool(await cursor.to_list(1))


@asynccontextmanager
async def spooled(file_id: str) -> AsyncIterator[Path]:
    """The file's bytes in a temporary file on disk, for readers that need a path."""
    with tempfile.TemporaryDirectory(prefix="threadline-file-") as folder:
        path = Path(folder) / "content"
        with path.open("wb") as out:
            await _copy_to(file_id, out)
        yield path


async def _copy_to(file_id: str, out: IO[bytes]) -> None:
    async for chunk in chunks(file_id):
        out.write(chunk)


async def delete(file_id: str) -> None:
    with contextlib.suppress(NoFile):  # already gone: a delete that was retried
        await _bucket().delete(file_id)
