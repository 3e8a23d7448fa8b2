"""What every stored object has: an OpenAI-style id, its project and its creation time."""

from datetime import UTC, datetime

from beanie import Document
from pydantic import Field


def utcnow() -> datetime:
    """Now, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ScopedDocument(Document):
    id: str  # type: ignore[assignment]  # OpenAI-style ids instead of ObjectIds
    project_id: str
    created_at: datetime = Field(default_factory=utcnow)
