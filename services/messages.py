"""Messages: add to a thread, read, list, update, delete — the rules both faces share."""

from pydantic import BaseModel, ConfigDict

from models import conversations
from models.errors import NotFound
from models.message import MessageDocument, messages, page_messages
from models.message_input import MessageInput
from models.pagination import Page, PageRequest
from models.references import check_references, message_file_ids
from models.thread import ThreadDocument, threads
from models.validation import INPUT, Where
from models.vector_stores import attach_to_thread

# `content` as a string or parts (OpenAI's form), or `content_parts` (GraphQL's second field);
# defined in models/ since the run engine builds its additional messages from it too.
CreateMessage = MessageInput


class UpdateMessage(BaseModel):
    """Metadata is all a message lets change (null clears it)."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] | None = None


class MessageService:
    async def create(
        self, project_id: str, thread_id: str, given: CreateMessage, where: Where = INPUT
    ) -> MessageDocument:
        """`where`: the request's place for the input, as its errors name fields."""
        if not threads.owns(thread_id):
            raise NotFound("thread", thread_id)
        message = conversations.build_message(project_id, thread_id, given, where)
        await check_references(project_id, [message])
        if message_file_ids([message]):
            thread = await threads.get(project_id, thread_id)
            await conversations.no_active_run(project_id, thread_id, None, "added")
            await attach_to_thread(thread, [message], stored=True)
        await conversations.write_message(message)
        return message

    async def find(
        self, project_id: str, message_id: str, thread_id: str | None = None
    ) -> MessageDocument | None:
        """The message; with `thread_id`, only if it is that thread's."""
        return await messages.find(project_id, message_id, thread_id=thread_id)

    async def get(
        self, project_id: str, message_id: str, thread_id: str | None = None
    ) -> MessageDocument:
        return await messages.get(project_id, message_id, thread_id=thread_id)

    async def page(
        self,
        project_id: str,
        thread: ThreadDocument,
        request: PageRequest,
        run_id: str | None = None,
    ) -> Page[MessageDocument]:
        """The thread's messages (those `run_id` wrote, if given)."""
        return await page_messages(thread, request, run_id)

    async def update(
        self, project_id: str, message_id: str, given: UpdateMessage
    ) -> MessageDocument:
        changes = given.model_dump(exclude_unset=True)
        return await messages.update(project_id, message_id, changes)

    async def delete(self, project_id: str, message_id: str) -> None:
        await conversations.delete_message(project_id, message_id)
