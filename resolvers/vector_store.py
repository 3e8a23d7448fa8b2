"""Vector store queries and mutations, and search."""

from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.context import Info
from engine.files.filters import validate_filter
from engine.files.search import DEFAULT_MAX_RESULTS, SearchRequest
from models.errors import BadUserInput
from models.pagination import PageRequest, SortOrder
from schema.common import PAGE_ARGUMENTS_HELP, Connection, DeletedObject, input_data, json_value
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

MAX_SEARCH_RESULTS = 50
MAX_QUERY_LENGTH = 4096


def _chunking(strategy: ChunkingStrategyInput | None) -> dict[str, object]:
    return {"chunking_strategy": input_data(strategy)} if strategy else {}


def _object(value: JSON | None, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise BadUserInput(f"{name}: expected a JSON object.")


@strawberry.type
class VectorStoreQuery:
    @strawberry.field
    async def vector_store(self, info: Info, id: strawberry.ID) -> VectorStore | None:
        context = info.context
        document = await context.services.vector_stores.find(context.project_id, id)
        return VectorStore.from_document(document) if document else None

    @strawberry.field(description=f"The project's vector stores. {PAGE_ARGUMENTS_HELP}")
    async def vector_stores(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
    ) -> Connection[VectorStore]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        page = await info.context.services.vector_stores.page(info.context.project_id, request)
        return Connection[VectorStore].from_page(page, VectorStore.from_document)

    @strawberry.field
    async def vector_store_file(
        self, info: Info, vector_store_id: strawberry.ID, file_id: strawberry.ID
    ) -> VectorStoreFile:
        service = info.context.services.vector_stores
        document = await service.file(info.context.project_id, vector_store_id, file_id)
        return VectorStoreFile.from_document(document)

    @strawberry.field
    async def vector_store_file_batch(
        self, info: Info, id: strawberry.ID
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
        id: strawberry.ID,
        query: str,
        max_num_results: int = DEFAULT_MAX_RESULTS,
        ranking_options: RankingOptionsInput | None = None,
        filters: JSON | None = None,
    ) -> list[VectorStoreSearchResult]:
        if not query.strip() or len(query) > MAX_QUERY_LENGTH:
            raise BadUserInput(f"query: give 1 to {MAX_QUERY_LENGTH} characters.")
        if not 1 <= max_num_results <= MAX_SEARCH_RESULTS:
            raise BadUserInput(f"maxNumResults must be between 1 and {MAX_SEARCH_RESULTS}.")
        threshold = ranking_options.score_threshold if ranking_options else 0.0
        if not 0 <= threshold <= 1:
            raise BadUserInput("rankingOptions.scoreThreshold must be between 0 and 1.")
        given_filters = _object(filters, "filters")
        if given_filters is not None:
            try:
                validate_filter(given_filters)
            except ValueError as error:
                raise BadUserInput(f"filters: {error}") from None
        request = SearchRequest(
            store_ids=[id],
            query=query,
            max_num_results=max_num_results,
            score_threshold=threshold,
            filters=given_filters,
        )
        hits = await info.context.services.vector_stores.search(info.context.project_id, request)
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
        self, info: Info, input: CreateVectorStoreInput | None = None
    ) -> VectorStore:
        data = input_data(input) if input else {}
        document = await info.context.services.vector_stores.create(info.context.project_id, data)
        return VectorStore.from_document(document)

    @strawberry.mutation
    async def update_vector_store(
        self, info: Info, id: strawberry.ID, input: UpdateVectorStoreInput
    ) -> VectorStore:
        service = info.context.services.vector_stores
        document = await service.update(info.context.project_id, id, input_data(input))
        return VectorStore.from_document(document)

    @strawberry.mutation(description="Deletes the store, its files' entries and chunks.")
    async def delete_vector_store(self, info: Info, id: strawberry.ID) -> DeletedObject:
        await info.context.services.vector_stores.delete(info.context.project_id, id)
        return DeletedObject(id=id)

    @strawberry.mutation(description="Adds files (≤ 2,000) as one batch, ingested together.")
    async def add_vector_store_files(
        self,
        info: Info,
        vector_store_id: strawberry.ID,
        file_ids: list[strawberry.ID],
        chunking_strategy: ChunkingStrategyInput | None = None,
        attributes: JSON | None = None,
    ) -> VectorStoreFileBatch:
        data = {
            "file_ids": file_ids,
            "attributes": attributes or {},
            **_chunking(chunking_strategy),
        }
        service = info.context.services.vector_stores
        batch = await service.add_files(info.context.project_id, vector_store_id, data)
        return VectorStoreFileBatch.from_document(batch)

    @strawberry.mutation
    async def add_vector_store_file(
        self,
        info: Info,
        vector_store_id: strawberry.ID,
        file_id: strawberry.ID,
        chunking_strategy: ChunkingStrategyInput | None = None,
        attributes: JSON | None = None,
    ) -> VectorStoreFile:
        data: dict[str, object] = {"attributes": _object(attributes, "attributes") or {}}
        data.update(_chunking(chunking_strategy))
        service = info.context.services.vector_stores
        document = await service.add_file(info.context.project_id, vector_store_id, file_id, data)
        return VectorStoreFile.from_document(document)

    @strawberry.mutation
    async def update_vector_store_file_attributes(
        self,
        info: Info,
        vector_store_id: strawberry.ID,
        file_id: strawberry.ID,
        attributes: JSON,
    ) -> VectorStoreFile:
        service = info.context.services.vector_stores
        document = await service.update_file_attributes(
            info.context.project_id, vector_store_id, file_id, _object(attributes, "attributes")
        )
        return VectorStoreFile.from_document(document)

    @strawberry.mutation(description="Takes a file out of the store; the file itself stays.")
    async def remove_vector_store_file(
        self, info: Info, vector_store_id: strawberry.ID, file_id: strawberry.ID
    ) -> DeletedObject:
        service = info.context.services.vector_stores
        await service.remove_file(info.context.project_id, vector_store_id, file_id)
        return DeletedObject(id=file_id)

    @strawberry.mutation(description="Files of the batch not yet ingested end CANCELLED.")
    async def cancel_vector_store_file_batch(
        self, info: Info, id: strawberry.ID
    ) -> VectorStoreFileBatch:
        batch = await info.context.services.vector_stores.cancel_batch(info.context.project_id, id)
        return VectorStoreFileBatch.from_document(batch)
