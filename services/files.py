"""Files: upload (streamed into GridFS), read, list, delete, and the checks that ids named
elsewhere (attachments, image parts, tool resources) are files of the caller's project."""

import mimetypes
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from models import file_storage
from models import vector_stores as stores_db
from models.base import utcnow
from models.errors import BadUserInput, NotFound
from models.file import IMAGE_TYPES, FileDocument, FileExpiry, UploadPurpose, files, find_live
from models.pagination import Page, PageRequest

MAX_FILENAME_LENGTH = 512


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the faces hand it over: a name, a declared type and a reader."""

    filename: str
    declared_type: str | None
    read: file_storage.Read


class UploadFields(BaseModel):
    """What comes with the bytes."""

    model_config = ConfigDict(extra="forbid")

    purpose: UploadPurpose
    expires_after: FileExpiry | None = None


def content_type(filename: str, declared: str | None) -> str:
    """The type the bytes are served with: from the name first (what clients declare is
    often generic), then what the client said."""
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed:
        return guessed
    if declared and declared != "application/octet-stream":
        return declared
    return "application/octet-stream"


def _filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base:
        raise BadUserInput("The uploaded file needs a file name.", param="file")
    if len(base) > MAX_FILENAME_LENGTH:
        raise BadUserInput(
            f"The file name is longer than {MAX_FILENAME_LENGTH} characters.", param="file"
        )
    return base


class FileService:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def upload(self, project_id: str, upload: Upload, given: UploadFields) -> FileDocument:
        """Streams the bytes into storage, then records the file: all of it, or nothing."""
        filename = _filename(upload.filename)
        kind = content_type(filename, upload.declared_type)
        if given.purpose == "vision" and kind not in IMAGE_TYPES:
            raise BadUserInput(
                "purpose VISION takes png, jpeg, gif or webp images only.", param="purpose"
            )
        document = files.build(
            project_id,
            {"filename": filename, "bytes": 0, "purpose": given.purpose, "content_type": kind},
        )
        document.expire_from(given.expires_after)
        try:
            document.bytes = await file_storage.store(
                document.id, filename, upload.read, self.max_bytes
            )
        except file_storage.TooLarge:
            raise BadUserInput(
                f"The file is larger than {self.max_bytes} bytes (THREADLINE_MAX_FILE_BYTES).",
                param="file",
            ) from None
        try:
            return await files.insert(document)
        except BaseException:
            await file_storage.delete(document.id)
            raise

    async def get(self, project_id: str, file_id: str) -> FileDocument:
        document = await self.find(project_id, file_id)
        if document is None:
            raise NotFound("file", file_id)
        return document

    async def find(self, project_id: str, file_id: str) -> FileDocument | None:
        return await find_live(project_id, file_id)

    async def page(
        self, project_id: str, request: PageRequest, purpose: str | None = None
    ) -> Page[FileDocument]:
        """`purpose`: only files of that one (a purpose no file has lists none)."""
        filters: dict[str, Any] = {} if purpose is None else {"purpose": purpose}
        # An expired file is listed no more, even before the sweep removes it.
        filters["expires_at"] = {"$not": {"$lte": utcnow()}}
        return await files.page(project_id, request, **filters)

    async def delete(self, project_id: str, file_id: str) -> None:
        """The file, its bytes, and its place in every vector store it was in."""
        if not await stores_db.delete_file(project_id, file_id):
            raise NotFound("file", file_id)
