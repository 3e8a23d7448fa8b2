"""Projects: every other object belongs to one."""

from datetime import datetime

from beanie import Document, Indexed
from pydantic import Field

from models.base import utcnow
from models.ids import new_id

DEFAULT_PROJECT_NAME = "default"


class ProjectDocument(Document):
    id: str = Field(default_factory=lambda: new_id("proj"))  # type: ignore[assignment]
    name: Indexed(str)  # type: ignore[valid-type]
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "projects"


async def ensure_default_project() -> ProjectDocument:
    """The `default` project, created on first start."""
    existing = await ProjectDocument.find_one({"name": DEFAULT_PROJECT_NAME})
    if existing is not None:
        return existing
    return await ProjectDocument(name=DEFAULT_PROJECT_NAME).insert()
