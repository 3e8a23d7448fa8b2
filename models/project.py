"""Projects: every other object belongs to one."""

from typing import Annotated

from pydantic import Field
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from models.base import StoredDocument
from models.errors import NotFound
from models.ids import new_id
from models.pagination import Page, PageRequest, paginate
from models.validation import MAX_METADATA_KEY_LENGTH, MAX_METADATA_KEYS, validated

DEFAULT_PROJECT_ID = "proj_default"
DEFAULT_PROJECT_NAME = "default"
MAX_ID_LENGTH = 64


MetadataKey = Annotated[str, Field(min_length=1, max_length=MAX_METADATA_KEY_LENGTH)]


class ProjectDocument(StoredDocument):
    id: str = Field(default_factory=lambda: new_id("proj"))
    name: str = Field(min_length=1, max_length=256)
    # The thread metadata keys `threads(metadata: …)` may filter on (every pair is indexed;
    # the project says which keys it means to query, so a listing's filters stay deliberate).
    indexed_metadata_keys: list[MetadataKey] = Field(
        default_factory=list, max_length=MAX_METADATA_KEYS
    )

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


async def update_project(project_id: str, changes: dict[str, object]) -> ProjectDocument:
    """Changes the given fields (name, indexed metadata keys), validating the result whole."""
    project = await get_project(project_id)
    merged = {**project.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    if "indexed_metadata_keys" in merged:
        merged["indexed_metadata_keys"] = list(dict.fromkeys(merged["indexed_metadata_keys"]))
    updated = validated(ProjectDocument, merged)
    result = await ProjectDocument.find_one({"_id": project.id}).replace_one(updated)
    if result is None or result.matched_count == 0:
        raise NotFound("project", project_id)
    return updated


async def indexed_metadata_keys(project_id: str) -> list[str]:
    raw = await ProjectDocument.get_pymongo_collection().find_one(
        {"_id": project_id}, {"indexed_metadata_keys": 1}
    )
    return list(raw.get("indexed_metadata_keys") or []) if raw else []


async def page_projects(request: PageRequest) -> Page[ProjectDocument]:
    return await paginate(ProjectDocument, {}, request)
