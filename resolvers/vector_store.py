"""Vector store queries and mutations, and search."""

from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.context import Info
from engine.files.search import DEFAULT_MAX_RESULTS
from models.errors import BadUserInput
from models.pagination import PageRequest, SortOrder
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
    json_value,
)
from schema.tool import RankingOptionsInput
from schema.vector_store import (
    ChunkingStrategyInput,
    CreateVectorStoreInput,
    UpdateVectorStoreInput,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreSearchResult,
)
from services.vector_stores import (
    AddFile,
    AddFiles,
    CreateVectorStore,
    SearchStore,
    UpdateFileAttributes,
    UpdateVectorStore,
)


def _chunking(strategy: ChunkingStrategyInput | None) -> dict[str, object]:
    return {"chunking_strategy": input_data(strategy)} if strategy else {}


def _object(value: JSON | None, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise BadUserInput(f"{name}: expected a JSON object.")


@strawberry.type
class VectorStoreQuery:
    @strawberry.field(
        description="A vector store by its id; null if there is none the caller may see."
    )
    async def vector_store(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
    ) -> VectorStore | None:
        context = info.context
        observed = await context.services.vector_stores.observe(context.project_id, id)
        if observed is None:
            return None
        store = VectorStore.from_document(observed[0])
        store.counted = observed[1]
        return store

    @strawberry.field(description=f"The project's vector stores. {PAGE_ARGUMENTS_HELP}")
    async def vector_stores(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[VectorStore]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await info.context.services.vector_stores.page(info.context.project_id, request)
        return Connection[VectorStore].from_page(page, VectorStore.from_document)

    @strawberry.field(
        description="A file's entry in a vector store; NOT_FOUND if the file is not in it."
    )
    async def vector_store_file(
        self,
        info: Info,
        vector_store_id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
        file_id: Annotated[strawberry.ID, strawberry.argument(description="The file's id.")],
    ) -> VectorStoreFile:
        service = info.context.services.vector_stores
        document = await service.file(info.context.project_id, vector_store_id, file_id)
        return VectorStoreFile.from_document(document)

    @strawberry.field(description="A file batch by its id; null if there is none.")
    async def vector_store_file_batch(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's id (`vsfb_…`).")],
    ) -> VectorStoreFileBatch | None:
        service = info.context.services.vector_stores
        document = await service.find_batch(info.context.project_id, id)
        return VectorStoreFileBatch.from_document(document) if document else None

    @strawberry.field(
        description="The chunks of the store that best match `query`, best first; scores are "
        "in [0, 1]. `filters` are OpenAI's comparison/compound filters on file attributes."
    )
    async def search_vector_store(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store to search.")
        ],
        query: Annotated[
            str, strawberry.argument(description="What to look for (1 to 4,096 characters).")
        ],
        max_num_results: Annotated[
            int, strawberry.argument(description="At most this many chunks (1 to 50).")
        ] = DEFAULT_MAX_RESULTS,
        ranking_options: Annotated[
            RankingOptionsInput | None,
            strawberry.argument(description="Only its `scoreThreshold` counts here."),
        ] = None,
        filters: Annotated[
            JSON | None,
            strawberry.argument(
                description="A filter on file attributes (OpenAI: `filters`); none if null."
            ),
        ] = None,
    ) -> list[VectorStoreSearchResult]:
        data: dict[str, Any] = {"query": query, "max_num_results": max_num_results}
        if ranking_options is not None:
            # The file_search tool's rankers are not search's: the threshold is what counts.
            data["ranking_options"] = {"score_threshold": ranking_options.score_threshold}
        if filters is not None:
            data["filters"] = _object(filters, "filters")
        given = validated(SearchStore, data, "")
        service = info.context.services.vector_stores
        hits = await service.search(info.context.project_id, id, given)
        return [
            VectorStoreSearchResult(
                vector_store_id=strawberry.ID(hit.vector_store_id),
                file_id=strawberry.ID(hit.file_id),
                filename=hit.filename,
                score=hit.score,
                content=hit.text,
                attributes=json_value(hit.attributes),
            )
            for hit in hits
        ]


@strawberry.type
class VectorStoreMutation:
    @strawberry.mutation(description="A store, with `fileIds` (≤ 500) ingested in the background.")
    async def create_vector_store(
        self,
        info: Info,
        input: Annotated[
            CreateVectorStoreInput | None,
            strawberry.argument(description="The store's fields; an empty store if null."),
        ] = None,
    ) -> VectorStore:
        given = validated(CreateVectorStore, input_data(input) if input else {})
        document = await info.context.services.vector_stores.create(info.context.project_id, given)
        return VectorStore.from_document(document)

    @strawberry.mutation(
        description="Changes a vector store's name, expiry or metadata (OpenAI: "
        "`POST /vector_stores/{id}`)."
    )
    async def update_vector_store(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The vector store's id.")],
        input: Annotated[
            UpdateVectorStoreInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> VectorStore:
        service = info.context.services.vector_stores
        given = validated(UpdateVectorStore, input_data(input))
        document = await service.update(info.context.project_id, id, given)
        return VectorStore.from_document(document)

    @strawberry.mutation(description="Deletes the store, its files' entries and chunks.")
    async def delete_vector_store(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The vector store's id.")],
    ) -> DeletedObject:
        await info.context.services.vector_stores.delete(info.context.project_id, id)
        return DeletedObject(id=id)

    @strawberry.mutation(description="Adds files (≤ 2,000) as one batch, ingested together.")
    async def add_vector_store_files(
        self,
        info: Info,
        vector_store_id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
        file_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="The files to add (1 to 2,000)."),
        ],
        chunking_strategy: Annotated[
            ChunkingStrategyInput | None,
            strawberry.argument(description="How to split the files; AUTO if null."),
        ] = None,
        attributes: Annotated[
            JSON | None,
            strawberry.argument(
                description="Attributes given to every file of the batch (at most 16)."
            ),
        ] = None,
    ) -> VectorStoreFileBatch:
        data = {"file_ids": file_ids, "attributes": attributes, **_chunking(chunking_strategy)}
        given = validated(AddFiles, data)
        service = info.context.services.vector_stores
        batch = await service.add_files(info.context.project_id, vector_store_id, given)
        return VectorStoreFileBatch.from_document(batch)

    @strawberry.mutation(
        description="Adds one file to a vector store, ingested in the background (OpenAI: "
        "`POST /vector_stores/{id}/files`)."
    )
    async def add_vector_store_file(
        self,
        info: Info,
        vector_store_id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
        file_id: Annotated[strawberry.ID, strawberry.argument(description="The file to add.")],
        chunking_strategy: Annotated[
            ChunkingStrategyInput | None,
            strawberry.argument(description="How to split the file; AUTO if null."),
        ] = None,
        attributes: Annotated[
            JSON | None,
            strawberry.argument(
                description="The file's attributes, for search filters (a JSON object, at most "
                "16 keys)."
            ),
        ] = None,
    ) -> VectorStoreFile:
        data = {"file_id": file_id, "attributes": _object(attributes, "attributes")}
        given = validated(AddFile, {**data, **_chunking(chunking_strategy)})
        service = info.context.services.vector_stores
        document = await service.add_file(info.context.project_id, vector_store_id, given)
        return VectorStoreFile.from_document(document)

    @strawberry.mutation(
        description="Replaces a file's attributes in a vector store (OpenAI: "
        "`POST /vector_stores/{id}/files/{file_id}`)."
    )
    async def update_vector_store_file_attributes(
        self,
        info: Info,
        vector_store_id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
        file_id: Annotated[strawberry.ID, strawberry.argument(description="The file's id.")],
        attributes: Annotated[
            JSON,
            strawberry.argument(description="The new attributes (a JSON object, at most 16 keys)."),
        ],
    ) -> VectorStoreFile:
        data = {"attributes": _object(attributes, "attributes")}
        given = validated(UpdateFileAttributes, data)
        service = info.context.services.vector_stores
        document = await service.update_file_attributes(
            info.context.project_id, vector_store_id, file_id, given
        )
        return VectorStoreFile.from_document(document)

    @strawberry.mutation(description="Takes a file out of the store; the file itself stays.")
    async def remove_vector_store_file(
        self,
        info: Info,
        vector_store_id: Annotated[
            strawberry.ID, strawberry.argument(description="The vector store's id (`vs_…`).")
        ],
        file_id: Annotated[strawberry.ID, strawberry.argument(description="The file's id.")],
    ) -> DeletedObject:
        service = info.context.services.vector_stores
        await service.remove_file(info.context.project_id, vector_store_id, file_id)
        return DeletedObject(id=file_id)

    @strawberry.mutation(description="Files of the batch not yet ingested end CANCELLED.")
    async def cancel_vector_store_file_batch(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's id.")],
    ) -> VectorStoreFileBatch:
        batch = await info.context.services.vector_stores.cancel_batch(info.context.project_id, id)
        return VectorStoreFileBatch.from_document(batch)
