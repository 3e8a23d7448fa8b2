"""Assistants: create, read, list, update, delete — the rules both faces share."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.catalog import Catalog
from models.assistant import AssistantDocument, assistants
from models.pagination import Page, PageRequest
from models.references import check_references, check_tool_resources
from models.tools import ResponseFormat, Tool, ToolResources


class AssistantFields(BaseModel):
    """What a create or an update may set: types here, OpenAI's limits in the document. An
    update's explicit null resets a field to its default."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tools: list[Tool] | None = None
    tool_resources: ToolResources | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None

    def given(self) -> dict[str, Any]:
        """The fields the caller set, as the documents take them."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class CreateAssistant(AssistantFields):
    model: str


class UpdateAssistant(AssistantFields):
    model: str | None = None


class AssistantService:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def create(self, project_id: str, given: CreateAssistant) -> AssistantDocument:
        self.catalog.ensure_served(given.model)
        document = assistants.build(project_id, given.given())
        await check_references(project_id, tool_resources=document.tool_resources)
        return await assistants.insert(document)

    async def get(self, project_id: str, assistant_id: str) -> AssistantDocument:
        return await assistants.get(project_id, assistant_id)

    async def find(self, project_id: str, assistant_id: str) -> AssistantDocument | None:
        return await assistants.find(project_id, assistant_id)

    async def page(self, project_id: str, request: PageRequest) -> Page[AssistantDocument]:
        return await assistants.page(project_id, request)

    async def update(
        self, project_id: str, assistant_id: str, given: UpdateAssistant
    ) -> AssistantDocument:
        if given.model is not None:
            self.catalog.ensure_served(given.model)
        changes = given.given()
        await check_tool_resources(project_id, changes)
        return await assistants.update(project_id, assistant_id, changes)

    async def delete(self, project_id: str, assistant_id: str) -> None:
        await assistants.delete(project_id, assistant_id)
