"""Vector stores: create, update, delete, list; their files and file batches; search.

Ingestion never runs here: files are recorded `in_progress` and the engine's workers take
them from there (engine/files/ingestion.py)."""

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field, field_validator

from engine.files.search import Hit, Searcher, SearchRequest
from models import vector_stores as stores_db
from models.base import utcnow
from models.errors import BadUserInput, NotFound
from models.pagination import Page, PageRequest
from models.references import check_files
from models.validation import Metadata, validated
from models.vector_store import (
    MAX_FILES_PER_BATCH,
    MAX_FILES_PER_CREATE,
    Attributes,
    ChunkingStrategy,
    StoreExpiry,
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
    file_batches,
    vector_store_files,
    vector_stores,
)

FileId = str


class _Chunked(BaseModel):
    chunking_strategy: ChunkingStrategy | None = None

    @field_validator("chunking_strategy", mode="before")
    @classmethod
    def _auto_is_static(cls, value: Any) -> Any:
        return ChunkingStrategy.parse(value) if value is not None else None


class CreateVectorStore(_Chunked):
    name: str | None = Field(default=None, max_length=256)
    file_ids: list[FileId] = Field(default_factory=list, max_length=MAX_FILES_PER_CREATE)
    expires_after: StoreExpiry | None = None
    metadata: Metadata = Field(default_factory=dict)


class UpdateVectorStore(BaseModel):
    name: str | None = Field(default=None, max_length=256)
    expires_after: StoreExpiry | None = None
    metadata: Metadata | None = None


class FileAttributes(BaseModel):
    attributes: Attributes = Field(default_factory=dict)


class AddFiles(_Chunked, FileAttributes):
    file_ids: list[FileId] = Field(min_length=1, max_length=MAX_FILES_PER_BATCH)


class VectorStoreService:
    def __init__(self, notify: Callable[[], None], searcher: Searcher) -> None:
        self.notify = notify  # wakes this process's ingestion workers
        self.searcher = searcher

    async def create(self, project_id: str, data: dict[str, Any]) -> VectorStoreDocument:
        given = validated(CreateVectorStore, data)
        await check_files(project_id, given.file_ids)
        store = VectorStoreDocument(project_id=project_id, name=given.name, metadata=given.metadata)
        store.expires_after = given.expires_after
        store.touch(store.created_at)
        await vector_stores.insert(store)
        await self._add(store, given.file_ids, given.chunking_strategy, {}, None)
        return store

    async def get(self, project_id: str, store_id: str) -> VectorStoreDocument:
        return await vector_stores.get(project_id, store_id)

    async def find(self, project_id: str, store_id: str) -> VectorStoreDocument | None:
        return await vector_stores.find(project_id, store_id)

    async def page(self, project_id: str, request: PageRequest) -> Page[VectorStoreDocument]:
        return await vector_stores.page(project_id, request)

    async def update(
        self, project_id: str, store_id: str, data: dict[str, Any]
    ) -> VectorStoreDocument:
        changes = validated(UpdateVectorStore, data)
        store = await vector_stores.get(project_id, store_id)
        if "name" in data:
            store.name = changes.name
        if changes.metadata is not None:
            store.metadata = changes.metadata
        if "expires_after" in data:
            store.expires_after = changes.expires_after
            store.expires_at = None
            store.touch(utcnow())
        return await vector_stores.replace(store)

    async def delete(self, project_id: str, store_id: str) -> None:
        await stores_db.delete_store(project_id, store_id)

    async def add_files(
        self, project_id: str, store_id: str, data: dict[str, Any]
    ) -> VectorStoreFileBatchDocument:
        """A batch: the files not yet in the store, ingested together, cancellable together."""
        given = validated(AddFiles, data)
        store = await self._unexpired(project_id, store_id)
        await check_files(project_id, given.file_ids)
        batch = VectorStoreFileBatchDocument(project_id=project_id, vector_store_id=store.id)
        await file_batches.insert(batch)
        await self._add(store, given.file_ids, given.chunking_strategy, given.attributes, batch.id)
        return batch

    async def add_file(
        self, project_id: str, store_id: str, file_id: str, data: dict[str, Any]
    ) -> VectorStoreFileDocument:
        given = validated(AddFiles, {**data, "file_ids": [file_id]})
        store = await self._unexpired(project_id, store_id)
        await check_files(project_id, [file_id])
        await self._add(store, [file_id], given.chunking_strategy, given.attributes, None)
        return await self.file(project_id, store_id, file_id)

    async def file(self, project_id: str, store_id: str, file_id: str) -> VectorStoreFileDocument:
        document = await VectorStoreFileDocument.find_one(
            {"project_id": project_id, "vector_store_id": store_id, "file_id": file_id}
        )
        if document is None:
            raise NotFound("file in this vector store", file_id)
        return document

    async def files_page(
        self,
        project_id: str,
        store_id: str,
        request: PageRequest,
        status: str | None = None,
        batch_id: str | None = None,
    ) -> Page[VectorStoreFileDocument]:
        await vector_stores.get(project_id, store_id)
        filters: dict[str, Any] = {"vector_store_id": store_id}
        if status is not None:
            filters["status"] = status
        if batch_id is not None:
            filters["batch_id"] = batch_id
        return await vector_store_files.page(project_id, request, **filters)

    async def update_file_attributes(
        self, project_id: str, store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> VectorStoreFileDocument:
        document = await self.file(project_id, store_id, file_id)
        document.attributes = validated(FileAttributes, {"attributes": attributes}).attributes
        await vector_store_files.replace(document)
        # Filters read attributes from the index: the store's cached indexes are stale now.
        await stores_db.bump_revision(store_id)
        return document

    async def remove_file(self, project_id: str, store_id: str, file_id: str) -> None:
        await vector_stores.get(project_id, store_id)
        if not await stores_db.remove_file(project_id, store_id, file_id):
            raise NotFound("file in this vector store", file_id)

    async def find_batch(
        self, project_id: str, batch_id: str
    ) -> VectorStoreFileBatchDocument | None:
        return await file_batches.find(project_id, batch_id)

    async def cancel_batch(self, project_id: str, batch_id: str) -> VectorStoreFileBatchDocument:
        batch = await file_batches.get(project_id, batch_id)
        await stores_db.cancel_batch(batch)
        return await file_batches.get(project_id, batch_id)

    async def search(self, project_id: str, request: SearchRequest) -> list[Hit]:
        for store_id in request.store_ids:
            await self._unexpired(project_id, store_id)
        return await self.searcher.search(project_id, request)

    async def _unexpired(self, project_id: str, store_id: str) -> VectorStoreDocument:
        store = await vector_stores.get(project_id, store_id)
        if store.expired:
            raise BadUserInput(f"Vector store {store_id} has expired; make a new one.")
        return store

    async def _add(
        self,
        store: VectorStoreDocument,
        file_ids: Sequence[str],
        chunking: ChunkingStrategy | None,
        attributes: dict[str, Any],
        batch_id: str | None,
    ) -> None:
        if await stores_db.add_files(store, file_ids, chunking, attributes, batch_id):
            self.notify()
