"""Threads: create (with seed messages), read, update, delete — the rules both faces share."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from models import conversations
from models.references import check_tool_resources
from models.thread import ThreadDocument, threads
from models.tools import ToolResources
from models.validation import INPUT, Where
from services.messages import CreateMessage


class ThreadFields(BaseModel):
    """What a create or an update may set; an update's explicit null resets a field."""

    model_config = ConfigDict(extra="forbid")

    tool_resources: ToolResources | None = None
    metadata: dict[str, str] | None = None

    def given(self) -> dict[str, Any]:
        """The fields the caller set, as the documents take them."""
        return self.model_dump(exclude_unset=True)


class CreateThread(ThreadFields):
    messages: list[CreateMessage] | None = None
    owner: str | None = None  # the end user it belongs to (app/policy.py decides for tokens)


class UpdateThread(ThreadFields):
    pass


class ThreadService:
    async def create(
        self, project_id: str, given: CreateThread, where: Where = INPUT
    ) -> ThreadDocument:
        """The thread and its messages, written at once. `where`: the request's place for
        the input, as its errors name fields."""
        thread, seeded = conversations.build_thread(project_id, given.given(), where)
        await conversations.prepare_thread(thread, seeded)
        await conversations.write_thread(thread, seeded)
        return thread

    async def get(self, project_id: str, thread_id: str) -> ThreadDocument:
        return await threads.get(project_id, thread_id)

    async def find(self, project_id: str, thread_id: str) -> ThreadDocument | None:
        return await threads.find(project_id, thread_id)

    async def update(self, project_id: str, thread_id: str, given: UpdateThread) -> ThreadDocument:
        changes = given.given()
        await check_tool_resources(project_id, changes)
        return await threads.update(project_id, thread_id, changes)

    async def delete(self, project_id: str, thread_id: str) -> None:
        """The thread with its messages, runs, steps and events."""
        await conversations.delete_thread(project_id, thread_id)
