"""Thread queries and mutations."""

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.context import Info
from models.errors import BadUserInput
from models.pagination import Page, PageRequest, SortOrder
from models.project import indexed_metadata_keys
from models.thread import ThreadOrder, page_threads
from models.validation import validated
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
from schema.thread import CreateThreadInput, Thread, UpdateThreadInput
from services.threads import CreateThread, UpdateThread


async def _metadata_filter(project_id: str, metadata: JSON | None) -> dict[str, str]:
    """`{key: value, …}` on keys the project declared indexed (Project.indexedMetadataKeys)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not metadata:
        raise BadUserInput("metadata: give a JSON object of one or more key: value pairs.")
    if not all(isinstance(value, str) for value in metadata.values()):
        raise BadUserInput("metadata: values are strings.")
    declared = set(await indexed_metadata_keys(project_id))
    undeclared = sorted(set(metadata) - declared)
    if undeclared:
        raise BadUserInput(
            f"metadata: {', '.join(repr(key) for key in undeclared)} not among the project's "
            "indexed metadata keys (an admin declares them with updateProject)."
        )
    return dict(metadata)


@strawberry.type
class ThreadQuery:
    @strawberry.field(description="A thread by its id; null if there is none the caller may see.")
    async def thread(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The thread's id (`thread_…`).")
        ],
    ) -> Thread | None:
        document = await info.context.access.thread(id)
        return Thread.from_document(document) if document else None

    @strawberry.field(
        description="The project's threads, or with a client token its subject's own. "
        "`orderBy: LAST_ACTIVITY` puts the threads with the newest activity first (a chat list; "
        "a thread that gets activity moves, so pages fetched earlier may miss or repeat it). "
        "`owner`: one end user's threads. `metadata`: threads with these metadata values, on "
        f"keys the project declared indexed (`Project.indexedMetadataKeys`). {PAGE_ARGUMENTS_HELP}"
    )
    async def threads(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
        order_by: Annotated[
            ThreadOrder, strawberry.argument(description="The time the listing sorts by.")
        ] = ThreadOrder.CREATED_AT,
        owner: Annotated[
            str | None, strawberry.argument(description="Only this end user's threads.")
        ] = None,
        metadata: Annotated[
            JSON | None,
            strawberry.argument(
                description="Only threads with these string values on these indexed keys."
            ),
        ] = None,
    ) -> Connection[Thread]:
        context = info.context
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        filters = await _metadata_filter(context.project_id, metadata)
        bounded_by, matches = context.access.listing_owner(owner)
        if matches:
            page = await page_threads(context.project_id, request, order_by, bounded_by, filters)
        else:  # another subject's threads, to a client token: none, as for an unknown owner
            page = Page([], has_next_page=False, has_previous_page=False, field=order_by.value)
        return Connection[Thread].from_page(page, Thread.from_document)


@strawberry.type
class ThreadMutation:
    @strawberry.mutation(
        description="Creates a thread, seeded with `input.messages` at once. With a client "
        "token, the thread is its subject's."
    )
    async def create_thread(
        self,
        info: Info,
        input: Annotated[
            CreateThreadInput | None,
            strawberry.argument(description="The thread's fields; an empty thread if null."),
        ] = None,
    ) -> Thread:
        access = info.context.access
        data = input_data(input) if input else {}
        access.check_thread_input(data)
        data["owner"] = access.thread_owner(data.get("owner"))
        given = validated(CreateThread, data)
        document = await info.context.services.threads.create(info.context.project_id, given)
        return Thread.from_document(document)

    @strawberry.mutation(
        description="Changes a thread's tool resources or metadata (OpenAI: "
        "`POST /threads/{thread_id}`)."
    )
    async def update_thread(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The thread's id.")],
        input: Annotated[
            UpdateThreadInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> Thread:
        given = validated(UpdateThread, input_data(input))
        service = info.context.services.threads
        document = await service.update(info.context.project_id, id, given)
        return Thread.from_document(document)

    @strawberry.mutation(description="Deletes a thread with its messages, runs, steps and events.")
    async def delete_thread(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The thread's id.")],
    ) -> DeletedObject:
        await info.context.services.threads.delete(info.context.project_id, id)
        return DeletedObject(id=id)
