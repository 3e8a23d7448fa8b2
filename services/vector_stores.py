"""Vector stores: create, update, delete, list; their files and file batches; search.

Ingestion never runs here: files are recorded `in_progress` and the engine's workers take
them from there (engine/files/ingestion.py). Inputs are typed, with OpenAI's names and limits;
both faces validate their request into them (`models.validation.validated`)."""

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.files.filters import validate_filter
from engine.files.search import DEFAULT_MAX_RESULTS, Hit, Searcher, SearchRequest
from models import vector_stores as stores_db
from models.base import utcnow
from models.errors import BadUserInput, NotFound
from models.pagination import Page, PageRequest
from models.references import check_files
from models.validation import Metadata
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
MAX_SEARCH_RESULTS = 50
MAX_QUERY_LENGTH = 4096


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Chunked(_Input):
    chunking_strategy: ChunkingStrategy | None = None

    @field_validator("chunking_strategy", mode="before")
    @classmethod
    def _auto_is_static(cls, value: Any) -> Any:
        if value is None or isinstance(value, ChunkingStrategy):
            return value
        return ChunkingStrategy.parse(value)


class CreateVectorStore(_Chunked):
    name: str | None = Field(default=None, max_length=256)
    # Taken as OpenAI takes it, and kept; OpenAI's vector store object does not show it.
    description: str | None = Field(default=None, max_length=512)
    file_ids: list[FileId] = Field(default_factory=list, max_length=MAX_FILES_PER_CREATE)
    expires_after: StoreExpiry | None = None
    metadata: Metadata = Field(default_factory=dict)


class UpdateVectorStore(_Input):
    """A field given (even as null) is changed; one left out is kept."""

    name: str | None = Field(default=None, max_length=256)
    expires_after: StoreExpiry | None = None
    metadata: Metadata | None = None


class FileAttributes(_Input):
    attributes: Attributes | None = None  # null: none


class UpdateFileAttributes(_Input):
    attributes: Attributes | None  # required, as OpenAI's; null clears them


class AddFile(_Chunked, FileAttributes):
    file_id: FileId


class AddFiles(_Chunked, FileAttributes):
    """`file_ids` sharing `attributes` and `chunking_strategy`, or `files` each with its own
    (OpenAI's two forms, one or the other)."""

    file_ids: list[FileId] | None = Field(
        default=None, min_length=1, max_length=MAX_FILES_PER_BATCH
    )
    files: list[AddFile] | None = Field(default=None, min_length=1, max_length=MAX_FILES_PER_BATCH)

    def entries(self) -> list[AddFile]:
        if (self.file_ids is None) == (self.files is None):
            raise BadUserInput("Give `file_ids` or `files`, one of the two.", param="file_ids")
        if self.files is not None:
            return self.files
        shared = {"attributes": self.attributes, "chunking_strategy": self.chunking_strategy}
        return [AddFile(file_id=file_id, **shared) for file_id in self.file_ids or []]


class SearchRanking(_Input):
    # Every ranker ranks the same way here (search.py); the names are OpenAI's.
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class SearchStore(_Input):
    """OpenAI's search request. Several queries are searched as one (their words together);
    a query is never rewritten, so `rewrite_query` changes nothing."""

    query: str | list[str]
    max_num_results: int = Field(default=DEFAULT_MAX_RESULTS, ge=1, le=MAX_SEARCH_RESULTS)
    ranking_options: SearchRanking | None = None
    filters: dict[str, Any] | None = None
    rewrite_query: bool = False

    @field_validator("query")
    @classmethod
    def _some_words(cls, value: str | list[str]) -> str | list[str]:
        queries = [value] if isinstance(value, str) else value
        length = sum(len(query) for query in queries)
        if not any(query.strip() for query in queries) or length > MAX_QUERY_LENGTH:
            raise ValueError(f"give 1 to {MAX_QUERY_LENGTH} characters")
        return value

    @field_validator("filters")
    @classmethod
    def _well_formed(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            validate_filter(value)  # its ValueError names the place
        return value

    @property
    def queries(self) -> list[str]:
        return [self.query] if isinstance(self.query, str) else self.query


class VectorStoreService:
    def __init__(self, notify: Callable[[], None], searcher: Searcher) -> None:
        self.notify = notify  # wakes this process's ingestion workers
        self.searcher = searcher

    async def create(self, project_id: str, given: CreateVectorStore) -> VectorStoreDocument:
        await check_files(project_id, given.file_ids)
        store = VectorStoreDocument(
            project_id=project_id,
            name=given.name,
            description=given.description,
            metadata=given.metadata,
        )
        store.expires_after = given.expires_after
        store.touch(store.created_at)
        await vector_stores.insert(store)
        entries = [
            AddFile(file_id=file_id, chunking_strategy=given.chunking_strategy)
            for file_id in given.file_ids
        ]
        await self._add(store, entries, None)
        return store

    async def get(self, project_id: str, store_id: str) -> VectorStoreDocument:
        return await vector_stores.get(project_id, store_id)

    async def find(self, project_id: str, store_id: str) -> VectorStoreDocument | None:
        return await vector_stores.find(project_id, store_id)

    async def observe(
        self, project_id: str, store_id: str
    ) -> tuple[VectorStoreDocument, stores_db.FileCounts] | None:
        """The store with its file counts, counted first: a file's completion moves its
        count and the store's usage in one transaction, so a store read after the counts holds
        the usage of every file they count (read the other way round, a store could show as
        completed with a file's bytes missing). None for a store the project does not hold."""
        counts = await stores_db.file_counts(store_id)
        store = await vector_stores.find(project_id, store_id)
        return (store, counts) if store is not None else None

    async def page(self, project_id: str, request: PageRequest) -> Page[VectorStoreDocument]:
        return await vector_stores.page(project_id, request)

    async def file_counts(self, store_id: str, batch_id: str | None = None) -> stores_db.FileCounts:
        """Of a store (or of one of its batches) the caller has already read."""
        return await stores_db.file_counts(store_id, batch_id)

    async def update(
        self, project_id: str, store_id: str, given: UpdateVectorStore
    ) -> VectorStoreDocument:
        read = await vector_stores.get(project_id, store_id)
        store = read.model_copy(deep=True)
        if "name" in given.model_fields_set:
            store.name = given.name
        if given.metadata is not None:
            store.metadata = given.metadata
        if "expires_after" in given.model_fields_set:
            store.expires_after = given.expires_after
            store.expires_at = None
            store.touch(utcnow())
        return await vector_stores.write_changes(read, store)

    async def delete(self, project_id: str, store_id: str) -> None:
        await stores_db.delete_store(project_id, store_id)

    async def add_files(
        self, project_id: str, store_id: str, given: AddFiles
    ) -> VectorStoreFileBatchDocument:
        """A batch: the files not yet in the store, ingested together, cancellable together."""
        store = await self._unexpired(project_id, store_id)
        entries = given.entries()
        await check_files(project_id, [entry.file_id for entry in entries])
        batch = VectorStoreFileBatchDocument(project_id=project_id, vector_store_id=store.id)
        await file_batches.insert(batch)
        await self._add(store, entries, batch.id)
        return batch

    async def add_file(
        self, project_id: str, store_id: str, given: AddFile
    ) -> VectorStoreFileDocument:
        store = await self._unexpired(project_id, store_id)
        await check_files(project_id, [given.file_id])
        await self._add(store, [given], None)
        return await self.file(project_id, store_id, given.file_id)

    async def file(self, project_id: str, store_id: str, file_id: str) -> VectorStoreFileDocument:
        document = await self.find_file(project_id, store_id, file_id)
        if document is None:
            raise NotFound("file in this vector store", file_id)
        return document

    async def find_file(
        self, project_id: str, store_id: str, file_id: str
    ) -> VectorStoreFileDocument | None:
        return await VectorStoreFileDocument.find_one(
            {"project_id": project_id, "vector_store_id": store_id, "file_id": file_id}
        )

    async def file_text(self, project_id: str, store_id: str, file_id: str) -> str:
        """The text ingestion read from the file ("" until it completed)."""
        document = await self.file(project_id, store_id, file_id)
        if document.status != "completed":
            return ""
        return await stores_db.file_text(document)

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
        self, project_id: str, store_id: str, file_id: str, given: UpdateFileAttributes
    ) -> VectorStoreFileDocument:
        read = await self.file(project_id, store_id, file_id)
        document: VectorStoreFileDocument = read.model_copy(
            update={"attributes": given.attributes or {}}
        )
        await vector_store_files.write_changes(read, document)
        # Filters read attributes from the index: the store's cached indexes are stale now.
        await stores_db.bump_revision(store_id)
        return document

    async def remove_file(self, project_id: str, store_id: str, file_id: str) -> None:
        await vector_stores.get(project_id, store_id)
        if not await stores_db.remove_file(project_id, store_id, file_id):
            raise NotFound("file in this vector store", file_id)

    async def find_batch(
        self, project_id: str, batch_id: str, store_id: str | None = None
    ) -> VectorStoreFileBatchDocument | None:
        """The batch; with `store_id`, only if it is that store's."""
        return await file_batches.find(project_id, batch_id, vector_store_id=store_id)

    async def get_batch(
        self, project_id: str, batch_id: str, store_id: str | None = None
    ) -> VectorStoreFileBatchDocument:
        return await file_batches.get(project_id, batch_id, vector_store_id=store_id)

    async def cancel_batch(
        self, project_id: str, batch_id: str, store_id: str | None = None
    ) -> VectorStoreFileBatchDocument:
        batch = await self.get_batch(project_id, batch_id, store_id)
        await stores_db.cancel_batch(batch)
        return await file_batches.get(project_id, batch_id)

    async def search(self, project_id: str, store_id: str, given: SearchStore) -> list[Hit]:
        await self._unexpired(project_id, store_id)
        ranking = given.ranking_options or SearchRanking()
        request = SearchRequest(
            store_ids=[store_id],
            query="\n".join(given.queries),
            max_num_results=given.max_num_results,
            score_threshold=ranking.score_threshold,
            filters=given.filters,
        )
        return await self.searcher.search(project_id, request)

    async def _unexpired(self, project_id: str, store_id: str) -> VectorStoreDocument:
        store = await vector_stores.get(project_id, store_id)
        if store.expired:
            raise BadUserInput(f"Vector store {store_id} has expired; make a new one.")
        return store

    async def _add(
        self, store: VectorStoreDocument, entries: Sequence[AddFile], batch_id: str | None
    ) -> None:
        """Files sharing their options go in together; workers are woken if any was new."""
        groups: dict[str, list[AddFile]] = {}
        for entry in entries:
            groups.setdefault(entry.model_dump_json(exclude={"file_id"}), []).append(entry)
        added = 0
        for group in groups.values():
            first = group[0]
            ids = [entry.file_id for entry in group]
            added += await stores_db.add_files(
                store, ids, first.chunking_strategy, first.attributes or {}, batch_id
            )
        if added:
            self.notify()
