"""Files as GraphQL types and inputs."""

import enum
from datetime import datetime

import strawberry

from models.file import FileDocument
from schema.common import Node


@strawberry.enum(description="What a file is for (OpenAI's `purpose`).")
class FilePurpose(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    ASSISTANTS = strawberry.enum_value(
        "assistants",
        description="For assistants: file search, code interpreter and message attachments.",
    )
    ASSISTANTS_OUTPUT = strawberry.enum_value(
        "assistants_output", description="Written by a run's code interpreter; not for uploads."
    )
    VISION = strawberry.enum_value(
        "vision", description="An image (PNG, JPEG, GIF or WebP) for image content parts."
    )
    USER_DATA = strawberry.enum_value(
        "user_data", description="Any data of the user's, kept for later use."
    )


@strawberry.enum(description="OpenAI's (deprecated) file status: stored files are PROCESSED.")
class FileStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    UPLOADED = strawberry.enum_value(
        "uploaded", description="Uploaded, not yet processed (not used here)."
    )
    PROCESSED = strawberry.enum_value("processed", description="Stored and ready to use.")
    ERROR = strawberry.enum_value("error", description="Processing failed (not used here).")


@strawberry.type(description="When a file is deleted (OpenAI: `file.expires_after`).")
class FileExpiresAfter:
    anchor: str = strawberry.field(description="What the time counts from: `created_at`.")
    seconds: int = strawberry.field(description="How long after the anchor the file is deleted.")


@strawberry.type(description="An uploaded file (OpenAI: the `file` object).")
class File(Node):
    created_at: datetime = strawberry.field(
        description="When it was uploaded (OpenAI: `file.created_at`)."
    )
    bytes: int = strawberry.field(description="Its size in bytes (OpenAI: `file.bytes`).")
    filename: str = strawberry.field(
        description="Its name as uploaded, at most 512 characters (OpenAI: `file.filename`)."
    )
    purpose: FilePurpose = strawberry.field(description="What it is for (OpenAI: `file.purpose`).")
    status: FileStatus = strawberry.field(
        description="Always PROCESSED once stored (OpenAI: `file.status`, deprecated)."
    )
    content_type: str = strawberry.field(description="The type the bytes are served with.")
    expires_after: FileExpiresAfter | None = strawberry.field(
        description="Its expiry policy, if it was given one (OpenAI: `file.expires_after`)."
    )
    expires_at: datetime | None = strawberry.field(
        description="When it will be deleted, if ever (OpenAI: `file.expires_at`)."
    )
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
    seconds: int = strawberry.field(
        description="Seconds after the anchor: 3,600 (1 hour) to 2,592,000 (30 days)."
    )
    anchor: str = strawberry.field(
        default="created_at", description="What the time counts from: only `created_at`."
    )
