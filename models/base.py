"""What every stored object has: an OpenAI-style id and its creation time; most, a project."""

from datetime import UTC, datetime

from beanie import Document
from pydantic import Field


def utcnow() -> datetime:
    """Now, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class StoredDocument(Document):
    """Anything listed through keyset pagination over (created_at, _id)."""

    id: str  # type: ignore[assignment]  # OpenAI-style ids instead of ObjectIds
    created_at: datetime = Field(default_factory=utcnow)


class ScopedDocument(StoredDocument):
    # Restated: without it mypy checks subclasses' `id` against Beanie's ObjectId field.
    id: str
    project_id: str
