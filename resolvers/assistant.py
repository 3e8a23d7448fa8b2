"""Assistant queries and mutations."""

import strawberry

from app.context import Info
from models.pagination import PageRequest, SortOrder
from models.validation import validated
from schema.assistant import Assistant, CreateAssistantInput, UpdateAssistantInput
from schema.common import PAGE_ARGUMENTS_HELP, Connection, DeletedObject, input_data
from services.assistants import CreateAssistant, UpdateAssistant


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
        page = await info.context.services.assistants.page(info.context.project_id, request)
        return Connection[Assistant].from_page(page, Assistant.from_document)


@strawberry.type
class AssistantMutation:
    @strawberry.mutation
    async def create_assistant(self, info: Info, input: CreateAssistantInput) -> Assistant:
        given = validated(CreateAssistant, input_data(input))
        document = await info.context.services.assistants.create(info.context.project_id, given)
        return Assistant.from_document(document)

    @strawberry.mutation
    async def update_assistant(
        self, info: Info, id: strawberry.ID, input: UpdateAssistantInput
    ) -> Assistant:
        given = validated(UpdateAssistant, input_data(input))
        service = info.context.services.assistants
        document = await service.update(info.context.project_id, id, given)
        return Assistant.from_document(document)

    @strawberry.mutation
    async def delete_assistant(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await info.context.services.assistants.delete(info.context.project_id, id)
        return DeletedObject(id=id)
