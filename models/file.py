"""Files: what a project uploads (bytes in GridFS, see models/file_storage.py) and what the
engine makes. Shaped like OpenAI's `OpenAIFile`."""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from pymongo import IndexModel

from models.base import ScopedDocument, earlier_than, utcnow
from models.ids import new_id
from models.repository import Repository

FilePurpose = Literal["assistants", "assistants_output", "vision", "user_data"]
# What a client may upload; `assistants_output` is what the engine writes.
UploadPurpose = Literal["assistants", "vision", "user_data"]
# The images OpenAI's vision models take: what VISION files and image parts may be.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MIN_EXPIRY_SECONDS = 3600  # OpenAI's bounds for `expires_after.seconds`: 1 hour to 30 days
MAX_EXPIRY_SECONDS = 30 * 24 * 3600


class FileExpiry(BaseModel):
    anchor: Literal["created_at"] = "created_at"
    seconds: int = Field(ge=MIN_EXPIRY_SECONDS, le=MAX_EXPIRY_SECONDS)


class FileDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("file"))
    filename: str = Field(min_length=1, max_length=512)
    bytes: int = Field(ge=0)
    purpose: FilePurpose
    content_type: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    expires_after: FileExpiry | None = None
    expires_at: datetime | None = None
    # For what a run made (code_interpreter's outputs): its thread, whose owner may read it.
    thread_id: str | None = None

    def expire_from(self, expiry: FileExpiry | None) -> None:
        self.expires_after = expiry
        if expiry is not None:
            self.expires_at = self.created_at + timedelta(seconds=expiry.seconds)

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    class Settings:
        name = "files"
        indexes = [
            IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("purpose", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("expires_at", 1)], sparse=True),
        ]


files = Repository(FileDocument, "file", "file-")


async def find_live(project_id: str, file_id: str) -> FileDocument | None:
    """The project's file, unless it expired (gone for readers before the sweep removes it)."""
    document = await files.find(project_id, file_id)
    return None if document is None or document.expired else document


async def filenames(project_id: str, file_ids: set[str]) -> dict[str, str]:
    """The names of these files of the project (a deleted one is missing)."""
    found = FileDocument.find({"_id": {"$in": sorted(file_ids)}, "project_id": project_id})
    return {document.id: document.filename async for document in found}


async def expired_files(now: datetime, limit: int = 100) -> list[FileDocument]:
    """Files past their expiry (a bounded range on the expiry index)."""
    return await FileDocument.find({"expires_at": earlier_than(now)}).limit(limit).to_list()
