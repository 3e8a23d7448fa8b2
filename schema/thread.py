"""Threads as GraphQL types and inputs."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from app.batches import BATCHED
from app.context import Info
from models.message import page_messages
from models.pagination import PageRequest, SortOrder
from models.run import runs
from models.thread import ThreadDocument, ThreadOrder
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    Order,
    describe_values,
    json_value,
)
from schema.message import CreateMessageInput, Message
from schema.tool import ToolResources, ToolResourcesInput

if TYPE_CHECKING:
    from schema.run import Run


ThreadOrderBy = describe_values(
    strawberry.enum(
        ThreadOrder,
        name="ThreadOrderBy",
        description="What a thread listing sorts by: creation, or the last activity (a message "
        "added, a run created, moving or ending), newest first with the default order.",
    ),
    {
        "CREATED_AT": "When the thread was created (`createdAt`).",
        "LAST_ACTIVITY": "When the thread last had activity (`lastActivityAt`).",
    },
)


@strawberry.type(
    description="A conversation: messages, and the runs of assistants on them (OpenAI: the "
    "`thread` object)."
)
class Thread(Node):
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `thread.created_at`)."
    )
    metadata: JSON = strawberry.field(
        description="Your key-value strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `thread.metadata`)."
    )
    tool_resources: ToolResources | None = strawberry.field(
        description="Files and a vector store for its runs' tools, beside the assistant's "
        "(OpenAI: `thread.tool_resources`)."
    )
    owner: str | None = strawberry.field(
        description="The end user the thread belongs to: the subject of the client token that "
        "created it, or the `owner` a project key gave. Never changes."
    )
    last_activity_at: datetime = strawberry.field(
        description="When a message was last added or a run last created, moved or ended "
        "(streamed deltas aside); the creation time until then."
    )
    document: strawberry.Private[ThreadDocument]

    @strawberry.field(
        description=f"The thread's messages, newest first by default. {PAGE_ARGUMENTS_HELP}"
    )
    async def messages(
        self,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
        run_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the messages this run wrote (OpenAI: `run_id`)."),
        ] = None,
    ) -> Connection[Message]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await page_messages(self.document, request, run_id)
        return Connection[Message].from_page(page, Message.from_document)

    @strawberry.field(
        description=f"The thread's runs, newest first by default. {PAGE_ARGUMENTS_HELP}"
    )
    async def runs(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[Annotated["Run", strawberry.lazy("schema.run")]]:
        from schema.run import Run

        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await runs.page(info.context.project_id, request, thread_id=self.id)
        return Connection[Run].from_page(page, Run.from_document)

    @strawberry.field(
        description="The run that is queued, running or waiting, if any.", metadata=BATCHED
    )
    async def active_run(
        self, info: Info
    ) -> Annotated["Run", strawberry.lazy("schema.run")] | None:
        from schema.run import Run

        document = await info.context.access.batches.active_runs.load(self.id)
        return Run.from_document(document) if document else None

    @classmethod
    def from_document(cls, document: ThreadDocument) -> "Thread":
        return cls(
            id=strawberry.ID(document.id),
            created_at=document.created_at,
            metadata=json_value(document.metadata),
            tool_resources=ToolResources.from_model(document.tool_resources),
            owner=document.owner,
            last_activity_at=document.active_at,
            document=document,
        )


@strawberry.input(description="A new thread (OpenAI: `POST /threads`'s body).")
class CreateThreadInput:
    messages: list[CreateMessageInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Messages to start it with, at most 100, in order (OpenAI: `messages`).",
    )
    tool_resources: ToolResourcesInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Files and a vector store for its runs' tools (OpenAI: `tool_resources`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )
    owner: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user the thread belongs to (1 to 256 characters). A client token's "
        "threads are always its subject's: it may leave this out or repeat its subject.",
    )


@strawberry.input(description="Fields left out stay as they are; `null` clears a field.")
class UpdateThreadInput:
    tool_resources: ToolResourcesInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces its tool resources (OpenAI: `tool_resources`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces its metadata: at most 16 keys (OpenAI: `metadata`).",
    )
