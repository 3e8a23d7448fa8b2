"""Assistant queries and mutations."""

import strawberry

from app.context import Info
from models.assistant import assistants
from models.pagination import PageRequest, SortOrder
from models.references import check_references, check_tool_resources
from schema.assistant import Assistant, CreateAssistantInput, UpdateAssistantInput
from schema.common import PAGE_ARGUMENTS_HELP, Connection, DeletedObject, input_data


@strawberry.type
class AssistantQuery:
    @strawberry.field
    async def assistant(self, info: Info, id: strawberry.ID) -> Assistant | None:
        document = await info.context.access.assistant(id)
        return Assistant.from_document(document) if document else None

    @strawberry.field(description=f"The project's assistants. {PAGE_ARGUMENTS_HELP}")
    async def assistants(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
    ) -> Connection[Assistant]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await assistants.page(info.context.project_id, request)
        return Connection[Assistant].from_page(page, Assistant.from_document)


@strawberry.type
class AssistantMutation:
    @strawberry.mutation
    async def create_assistant(self, info: Info, input: CreateAssistantInput) -> Assistant:
        info.context.engine.catalog.ensure_served(input.model)
        document = assistants.build(info.context.project_id, input_data(input))
        await check_references(document.project_id, tool_resources=document.tool_resources)
        return Assistant.from_document(await assistants.insert(document))

    @strawberry.mutation
    async def update_assistant(
        self, info: Info, id: strawberry.ID, input: UpdateAssistantInput
    ) -> Assistant:
        if isinstance(input.model, str):
            info.context.engine.catalog.ensure_served(input.model)
        data = input_data(input)
        await check_tool_resources(info.context.project_id, data)
        document = await assistants.update(info.context.project_id, id, data)
        return Assistant.from_document(document)

    @strawberry.mutation
    async def delete_assistant(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await assistants.delete(info.context.project_id, id)
        return DeletedObject(id=id)
