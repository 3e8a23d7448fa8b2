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
from schema.common import PAGE_ARGUMENTS_HELP, Connection, Node, json_value
from schema.message import CreateMessageInput, Message
from schema.tool import ToolResources, ToolResourcesInput

if TYPE_CHECKING:
    from schema.run import Run


ThreadOrderBy = strawberry.enum(
    ThreadOrder,
    name="ThreadOrderBy",
    description="What a thread listing sorts by: creation, or the last activity (a message "
    "added, a run created, moving or ending), newest first with the default order.",
)


@strawberry.type
class Thread(Node):
    created_at: datetime
    metadata: JSON
    tool_resources: ToolResources | None
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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
        run_id: strawberry.ID | None = None,
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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
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


@strawberry.input
class CreateThreadInput:
    messages: list[CreateMessageInput] | None = strawberry.UNSET
    tool_resources: ToolResourcesInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    owner: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user the thread belongs to (1 to 256 characters). A client token's "
        "threads are always its subject's: it may leave this out or repeat its subject.",
    )


@strawberry.input
class UpdateThreadInput:
    tool_resources: ToolResourcesInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
