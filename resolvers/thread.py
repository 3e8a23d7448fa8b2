"""Thread queries and mutations."""

import strawberry

from app.context import Info
from models import conversations
from models.references import check_tool_resources
from models.thread import threads
from schema.common import DeletedObject, input_data
from schema.thread import CreateThreadInput, Thread, UpdateThreadInput


@strawberry.type
class ThreadQuery:
    @strawberry.field
    async def thread(self, info: Info, id: strawberry.ID) -> Thread | None:
        document = await threads.find(info.context.project_id, id)
        return Thread.from_document(document) if document else None


@strawberry.type
class ThreadMutation:
    @strawberry.mutation(description="Creates a thread, seeded with `input.messages` at once.")
    async def create_thread(self, info: Info, input: CreateThreadInput | None = None) -> Thread:
        data = input_data(input) if input else {}
        document = await conversations.create_thread(info.context.project_id, data)
        return Thread.from_document(document)

    @strawberry.mutation
    async def update_thread(
        self, info: Info, id: strawberry.ID, input: UpdateThreadInput
    ) -> Thread:
        data = input_data(input)
        await check_tool_resources(info.context.project_id, data)
        document = await threads.update(info.context.project_id, id, data)
        return Thread.from_document(document)

    @strawberry.mutation(description="Deletes a thread and its messages.")
    async def delete_thread(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await conversations.delete_thread(info.context.project_id, id)
        return DeletedObject(id=id)
