"""Files as GraphQL types and inputs."""

import enum
from datetime import datetime

import strawberry

from models.file import FileDocument
from schema.common import Node


@strawberry.enum(description="What a file is for (OpenAI's `purpose`).")
class FilePurpose(enum.Enum):
    ASSISTANTS = "assistants"
    ASSISTANTS_OUTPUT = "assistants_output"
    VISION = "vision"
    USER_DATA = "user_data"


@strawberry.enum(description="OpenAI's (deprecated) file status: stored files are PROCESSED.")
class FileStatus(enum.Enum):
    UPLOADED = "uploaded"
    PROCESSED = "processed"
    ERROR = "error"


@strawberry.type
class FileExpiresAfter:
    anchor: str
    seconds: int


@strawberry.type
class File(Node):
    created_at: datetime
    bytes: int
    filename: str
    purpose: FilePurpose
    status: FileStatus
    content_type: str = strawberry.field(description="The type the bytes are served with.")
    expires_after: FileExpiresAfter | None
    expires_at: datetime | None
    download_url: str = strawberry.field(
        description="GET it with the same `Authorization: Bearer` key: the file's bytes."
    )

    @classmethod
    def from_document(cls, document: FileDocument, base_url: str = "/") -> "File":
        expiry = document.expires_after
        return cls(
            id=strawberry.ID(document.id),
            created_at=document.created_at,
            bytes=document.bytes,
            filename=document.filename,
            purpose=FilePurpose(document.purpose),
            status=FileStatus(document.status),
            content_type=document.content_type,
            expires_after=FileExpiresAfter(anchor=expiry.anchor, seconds=expiry.seconds)
            if expiry
            else None,
            expires_at=document.expires_at,
            download_url=f"{base_url.rstrip('/')}/files/{document.id}/content",
        )


@strawberry.input(description="Delete the file this long after it was created (1 hour to 30 days).")
class FileExpiresAfterInput:
    seconds: int
    anchor: str = "created_at"
