"""Projects: every other object belongs to one."""

from pydantic import Field
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from models.base import StoredDocument
from models.errors import NotFound
from models.ids import new_id
from models.pagination import Page, PageRequest, paginate
from models.validation import validated

DEFAULT_PROJECT_ID = "proj_default"
DEFAULT_PROJECT_NAME = "default"
MAX_ID_LENGTH = 64


class ProjectDocument(StoredDocument):
    id: str = Field(default_factory=lambda: new_id("proj"))
    name: str = Field(min_length=1, max_length=256)

    class Settings:
        name = "projects"
        indexes = [IndexModel([("created_at", 1), ("_id", 1)])]


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


async def create_project(name: str) -> ProjectDocument:
    project = validated(ProjectDocument, {"name": name})
    return await project.insert()


async def get_project(project_id: str) -> ProjectDocument:
    project = None
    if project_id.startswith("proj_") and len(project_id) <= MAX_ID_LENGTH:
        project = await ProjectDocument.get(project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


async def page_projects(request: PageRequest) -> Page[ProjectDocument]:
    return await paginate(ProjectDocument, {}, request)
