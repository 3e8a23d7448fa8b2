"""Projects: every other object belongs to one."""

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo.errors import DuplicateKeyError

from models.base import utcnow
from models.ids import new_id

DEFAULT_PROJECT_ID = "proj_default"
DEFAULT_PROJECT_NAME = "default"


class ProjectDocument(Document):
    id: str = Field(default_factory=lambda: new_id("proj"))  # type: ignore[assignment]
    name: str = Field(min_length=1, max_length=256)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "projects"


async def ensure_default_project() -> ProjectDocument:
    """The `default` project, created on first start; its fixed id makes two servers starting
    together agree on one."""
    existing = await ProjectDocument.get(DEFAULT_PROJECT_ID)
    if existing is not None:
        return existing
    try:
        return await ProjectDocument(id=DEFAULT_PROJECT_ID, name=DEFAULT_PROJECT_NAME).insert()
    except DuplicateKeyError:
        created = await ProjectDocument.get(DEFAULT_PROJECT_ID)
        assert created is not None
        return created
