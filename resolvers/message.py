"""Message queries and mutations."""

from typing import Annotated

import strawberry

from app.context import Info
from models.validation import validated
from schema.common import DeletedObject, input_data
from schema.message import CreateMessageInput, Message, UpdateMessageInput
from services.messages import CreateMessage, UpdateMessage


@strawberry.type
class MessageQuery:
    @strawberry.field(description="A message by its id; null if there is none the caller may see.")
    async def message(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The message's id (`msg_…`).")
        ],
    ) -> Message | None:
        document = await info.context.access.message(id)
        return Message.from_document(document) if document else None


@strawberry.type
class MessageMutation:
    @strawberry.mutation(
        description="Adds a message to a thread (OpenAI: `POST /threads/{thread_id}/messages`)."
    )
    async def create_message(
        self,
        info: Info,
        thread_id: Annotated[
            strawberry.ID, strawberry.argument(description="The thread to add it to.")
        ],
        input: Annotated[CreateMessageInput, strawberry.argument(description="The message.")],
    ) -> Message:
        data = input_data(input)
        access = info.context.access
        access.check_message_input(data)
        await access.check_thread(thread_id)
        given = validated(CreateMessage, data)
        service = info.context.services.messages
        document = await service.create(info.context.project_id, thread_id, given)
        return Message.from_document(document)

    @strawberry.mutation(
        description="Changes a message's metadata, the only field that can change."
    )
    async def update_message(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The message's id.")],
        input: Annotated[UpdateMessageInput, strawberry.argument(description="The new metadata.")],
    ) -> Message:
        given = validated(UpdateMessage, input_data(input))
        service = info.context.services.messages
        document = await service.update(info.context.project_id, id, given)
        return Message.from_document(document)

    @strawberry.mutation(
        description="Deletes a message; refused (CONFLICT) while a run is active on its thread."
    )
    async def delete_message(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The message's id.")],
    ) -> DeletedObject:
        await info.context.services.messages.delete(info.context.project_id, id)
        return DeletedObject(id=id)
