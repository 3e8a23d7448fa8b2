"""Thread queries and mutations."""

import strawberry
from strawberry.scalars import JSON

from app.context import Info
from models.errors import BadUserInput
from models.pagination import Page, PageRequest, SortOrder
from models.project import indexed_metadata_keys
from models.thread import ThreadOrder, page_threads
from models.validation import validated
from schema.common import PAGE_ARGUMENTS_HELP, Connection, DeletedObject, input_data
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
    @strawberry.field
    async def thread(self, info: Info, id: strawberry.ID) -> Thread | None:
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
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
        order_by: ThreadOrder = ThreadOrder.CREATED_AT,
        owner: str | None = None,
        metadata: JSON | None = None,
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
    async def create_thread(self, info: Info, input: CreateThreadInput | None = None) -> Thread:
        access = info.context.access
        data = input_data(input) if input else {}
        access.check_thread_input(data)
        data["owner"] = access.thread_owner(data.get("owner"))
        given = validated(CreateThread, data)
        document = await info.context.services.threads.create(info.context.project_id, given)
        return Thread.from_document(document)

    @strawberry.mutation
    async def update_thread(
        self, info: Info, id: strawberry.ID, input: UpdateThreadInput
    ) -> Thread:
        given = validated(UpdateThread, input_data(input))
        service = info.context.services.threads
        document = await service.update(info.context.project_id, id, given)
        return Thread.from_document(document)

    @strawberry.mutation(description="Deletes a thread and its messages.")
    async def delete_thread(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await info.context.services.threads.delete(info.context.project_id, id)
        return DeletedObject(id=id)
