"""Assistant queries and mutations."""

from typing import Annotated

import strawberry

from app.context import Info
from models.pagination import PageRequest, SortOrder
from models.validation import validated
from schema.assistant import Assistant, CreateAssistantInput, UpdateAssistantInput
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    DeletedObject,
    First,
    Last,
    Order,
    input_data,
)
from services.assistants import CreateAssistant, UpdateAssistant


@strawberry.type
class AssistantQuery:
    @strawberry.field(
        description="An assistant by its id; null if there is none the caller may see."
    )
    async def assistant(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The assistant's id (`asst_…`).")
        ],
    ) -> Assistant | None:
        document = await info.context.access.assistant(id)
        return Assistant.from_document(document) if document else None

    @strawberry.field(description=f"The project's assistants. {PAGE_ARGUMENTS_HELP}")
    async def assistants(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[Assistant]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await info.context.services.assistants.page(info.context.project_id, request)
        return Connection[Assistant].from_page(page, Assistant.from_document)


@strawberry.type
class AssistantMutation:
    @strawberry.mutation(
        description="Creates an assistant: a model with instructions and tools (OpenAI: "
        "`POST /assistants`)."
    )
    async def create_assistant(
        self,
        info: Info,
        input: Annotated[
            CreateAssistantInput, strawberry.argument(description="The assistant's fields.")
        ],
    ) -> Assistant:
        given = validated(CreateAssistant, input_data(input))
        document = await info.context.services.assistants.create(info.context.project_id, given)
        return Assistant.from_document(document)

    @strawberry.mutation(
        description="Changes an assistant's fields (OpenAI: `POST /assistants/{id}`)."
    )
    async def update_assistant(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The assistant's id.")],
        input: Annotated[
            UpdateAssistantInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> Assistant:
        given = validated(UpdateAssistant, input_data(input))
        service = info.context.services.assistants
        document = await service.update(info.context.project_id, id, given)
        return Assistant.from_document(document)

    @strawberry.mutation(
        description="Deletes an assistant; its threads and runs stay (OpenAI: "
        "`DELETE /assistants/{id}`)."
    )
    async def delete_assistant(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The assistant's id.")],
    ) -> DeletedObject:
        await info.context.services.assistants.delete(info.context.project_id, id)
        return DeletedObject(id=id)
