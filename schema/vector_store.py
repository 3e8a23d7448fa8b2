"""Vector stores, their files and file batches, and search results, as GraphQL types."""

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.context import Info
from models import vector_stores as stores_db
from models.pagination import PageRequest, SortOrder
from models.vector_store import (
    ChunkingStrategy as ChunkingModel,
)
from models.vector_store import (
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
)
from schema.common import (
    PAGE_ARGUMENTS_HELP,
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    Order,
    json_value,
)


@strawberry.enum(description="Where a vector store stands (OpenAI: `vector_store.status`).")
class VectorStoreStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    IN_PROGRESS = strawberry.enum_value(
        "in_progress",
        description="Some of its files are still being ingested (OpenAI: `in_progress`).",
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Every file is ingested or ended (OpenAI: `completed`)."
    )
    EXPIRED = strawberry.enum_value(
        "expired",
        description="It expired (`expiresAfter`) and can no longer be used (OpenAI: `expired`).",
    )


@strawberry.enum(
    description="Where a file of a vector store stands (OpenAI: `vector_store.file.status`)."
)
class VectorStoreFileStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    IN_PROGRESS = strawberry.enum_value(
        "in_progress", description="Waiting for, or being, ingested (OpenAI: `in_progress`)."
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Ingested: its chunks are searchable (OpenAI: `completed`)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled",
        description="Its batch was cancelled before it was ingested (OpenAI: `cancelled`).",
    )
    FAILED = strawberry.enum_value(
        "failed", description="It could not be ingested: see `lastError` (OpenAI: `failed`)."
    )


@strawberry.enum(
    description="Where a file batch stands (OpenAI: `vector_store.file_batch.status`)."
)
class VectorStoreFileBatchStatus(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    IN_PROGRESS = strawberry.enum_value(
        "in_progress",
        description="Some of its files are still being ingested (OpenAI: `in_progress`).",
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="None of its files is still being ingested (OpenAI: `completed`)."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="It was cancelled (OpenAI: `cancelled`)."
    )
    FAILED = strawberry.enum_value(
        "failed", description="OpenAI's `failed`; not reported here: see each file's status."
    )


@strawberry.enum(description="Why a file could not be ingested (OpenAI's `last_error.code`).")
class VectorStoreFileErrorCode(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    SERVER_ERROR = strawberry.enum_value(
        "server_error", description="The server failed while ingesting it (OpenAI: `server_error`)."
    )
    UNSUPPORTED_FILE = strawberry.enum_value(
        "unsupported_file",
        description="Its type is not one text is extracted from (OpenAI: `unsupported_file`).",
    )
    INVALID_FILE = strawberry.enum_value(
        "invalid_file",
        description="It could not be read, has no text or was deleted (OpenAI: `invalid_file`).",
    )


@strawberry.enum(description="How files are split into chunks (OpenAI: `chunking_strategy.type`).")
class ChunkingStrategyType(enum.Enum):
    _value_: str  # each value once strawberry.enum has unwrapped its enum_value (for mypy)

    AUTO = strawberry.enum_value(
        "auto", description="800-token chunks overlapping by 400 (OpenAI: `auto`)."
    )
    STATIC = strawberry.enum_value(
        "static", description="The sizes given in `static` (OpenAI: `static`)."
    )


@strawberry.type(description="Files by status (OpenAI: `file_counts`).")
class FileCounts:
    in_progress: int = strawberry.field(description="Files waiting for or being ingested.")
    completed: int = strawberry.field(description="Files ingested.")
    cancelled: int = strawberry.field(description="Files cancelled before they were ingested.")
    failed: int = strawberry.field(description="Files that could not be ingested.")
    total: int = strawberry.field(description="All the files.")

    @classmethod
    def of(cls, counts: stores_db.FileCounts) -> "FileCounts":
        return cls(
            in_progress=counts.in_progress,
            completed=counts.completed,
            cancelled=counts.cancelled,
            failed=counts.failed,
            total=counts.total,
        )


@strawberry.type(description="When a vector store expires (OpenAI: `vector_store.expires_after`).")
class VectorStoreExpiresAfter:
    anchor: str = strawberry.field(description="What the time counts from: `last_active_at`.")
    days: int = strawberry.field(description="Days after the anchor, 1 to 365.")


@strawberry.type(description="Fixed chunk sizes (OpenAI: `chunking_strategy.static`).")
class StaticChunking:
    max_chunk_size_tokens: int = strawberry.field(
        description="The most tokens in a chunk, 100 to 4,096."
    )
    chunk_overlap_tokens: int = strawberry.field(
        description="Tokens shared by neighbouring chunks, at most half the chunk size."
    )


@strawberry.type(
    description="How a file was split into chunks; AUTO is reported as the STATIC 800/400 it "
    "stands for (OpenAI: `chunking_strategy`)."
)
class ChunkingStrategy:
    type: ChunkingStrategyType = strawberry.field(description="Always STATIC, as OpenAI reports.")
    static: StaticChunking = strawberry.field(description="The chunk sizes used.")

    @classmethod
    def of(cls, model: ChunkingModel) -> "ChunkingStrategy":
        static = model.static
        return cls(
            type=ChunkingStrategyType.STATIC,
            static=StaticChunking(
                max_chunk_size_tokens=static.max_chunk_size_tokens,
                chunk_overlap_tokens=static.chunk_overlap_tokens,
            ),
        )


@strawberry.type(description="Why a file could not be ingested (OpenAI: `last_error`).")
class VectorStoreFileError:
    code: VectorStoreFileErrorCode = strawberry.field(description="The kind of failure.")
    message: str = strawberry.field(description="What went wrong.")


@strawberry.type(description="A file in a vector store; its `id` is the file's id.")
class VectorStoreFile:
    id: strawberry.ID = strawberry.field(
        description="The file's id (`file-…`) (OpenAI: `vector_store.file.id`)."
    )
    vector_store_id: strawberry.ID = strawberry.field(
        description="The vector store's id (OpenAI: `vector_store.file.vector_store_id`)."
    )
    created_at: datetime = strawberry.field(
        description="When it was added to the store (OpenAI: `vector_store.file.created_at`)."
    )
    status: VectorStoreFileStatus = strawberry.field(
        description="Where its ingestion stands (OpenAI: `vector_store.file.status`)."
    )
    usage_bytes: int = strawberry.field(
        description="Bytes of text it holds in the store (OpenAI: `vector_store.file.usage_bytes`)."
    )
    last_error: VectorStoreFileError | None = strawberry.field(
        description="Why it FAILED, if it did (OpenAI: `vector_store.file.last_error`)."
    )
    chunking_strategy: ChunkingStrategy = strawberry.field(
        description="How it was split (OpenAI: `vector_store.file.chunking_strategy`)."
    )
    attributes: JSON = strawberry.field(
        description="Its attributes for search filters: at most 16, string, number or boolean "
        "values (OpenAI: `vector_store.file.attributes`)."
    )

    @classmethod
    def from_document(cls, document: VectorStoreFileDocument) -> "VectorStoreFile":
        error = document.last_error
        return cls(
            id=strawberry.ID(document.file_id),
            vector_store_id=strawberry.ID(document.vector_store_id),
            created_at=document.created_at,
            status=VectorStoreFileStatus(document.status),
            usage_bytes=document.usage_bytes,
            last_error=VectorStoreFileError(
                code=VectorStoreFileErrorCode(error.code), message=error.message
            )
            if error
            else None,
            chunking_strategy=ChunkingStrategy.of(document.chunking_strategy),
            attributes=json_value(document.attributes),
        )


async def _files(
    info: Info,
    store_id: str,
    status: VectorStoreFileStatus | None,
    request: PageRequest,
    batch_id: str | None = None,
) -> Connection[VectorStoreFile]:
    service = info.context.services.vector_stores
    page = await service.files_page(
        info.context.project_id, store_id, request, status.value if status else None, batch_id
    )
    return Connection[VectorStoreFile].from_page(page, VectorStoreFile.from_document)


@strawberry.type(
    description="Files split into chunks for file search (OpenAI: the `vector_store` object)."
)
class VectorStore(Node):
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `vector_store.created_at`)."
    )
    name: str | None = strawberry.field(
        description="Its name, at most 256 characters (OpenAI: `vector_store.name`)."
    )
    usage_bytes: float = strawberry.field(
        description="Bytes of text the store holds (a Float: a store can pass 2^31)."
    )
    last_active_at: datetime = strawberry.field(
        description="When it was created or last searched (OpenAI: `vector_store.last_active_at`)."
    )
    expires_after: VectorStoreExpiresAfter | None = strawberry.field(
        description="Its expiry policy, if any (OpenAI: `vector_store.expires_after`)."
    )
    expires_at: datetime | None = strawberry.field(
        description="When it will expire, if it has a policy (OpenAI: `vector_store.expires_at`)."
    )
    metadata: JSON = strawberry.field(
        description="Your key-value strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `vector_store.metadata`)."
    )
    expired: strawberry.Private[bool]
    counted: strawberry.Private[stores_db.FileCounts | None] = None

    async def _counts(self) -> stores_db.FileCounts:
        """Counted once per object, however many of its fields need them."""
        if self.counted is None:
            self.counted = await stores_db.file_counts(self.id)
        return self.counted

    @strawberry.field(description="Its files by status (OpenAI: `vector_store.file_counts`).")
    async def file_counts(self) -> FileCounts:
        return FileCounts.of(await self._counts())

    @strawberry.field(description="Where it stands (OpenAI: `vector_store.status`).")
    async def status(self) -> VectorStoreStatus:
        return VectorStoreStatus(stores_db.store_status(self.expired, await self._counts()))

    @strawberry.field(description=f"The store's files, newest first. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        status: Annotated[
            VectorStoreFileStatus | None,
            strawberry.argument(description="Only the files with this status; all if null."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[VectorStoreFile]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        return await _files(info, self.id, status, request)

    @classmethod
    def from_document(cls, document: VectorStoreDocument) -> "VectorStore":
        expiry = document.expires_after
        return cls(
            id=strawberry.ID(document.id),
            created_at=document.created_at,
            name=document.name,
            usage_bytes=document.usage_bytes,
            last_active_at=document.last_active_at,
            expires_after=VectorStoreExpiresAfter(anchor=expiry.anchor, days=expiry.days)
            if expiry
            else None,
            expires_at=document.expires_at,
            metadata=json_value(document.metadata),
            expired=document.expired,
        )


@strawberry.type(
    description="Files added to a vector store together (OpenAI: the `vector_store.file_batch` "
    "object)."
)
class VectorStoreFileBatch(Node):
    vector_store_id: strawberry.ID = strawberry.field(
        description="The vector store's id (OpenAI: `file_batch.vector_store_id`)."
    )
    created_at: datetime = strawberry.field(
        description="When it was created (OpenAI: `file_batch.created_at`)."
    )
    cancelled: strawberry.Private[bool]
    counted: strawberry.Private[stores_db.FileCounts | None] = None

    async def _counts(self) -> stores_db.FileCounts:
        """Counted once per object, however many of its fields need them."""
        if self.counted is None:
            self.counted = await stores_db.file_counts(self.vector_store_id, self.id)
        return self.counted

    @strawberry.field(description="Its files by status (OpenAI: `file_batch.file_counts`).")
    async def file_counts(self) -> FileCounts:
        return FileCounts.of(await self._counts())

    @strawberry.field(description="Where it stands (OpenAI: `file_batch.status`).")
    async def status(self) -> VectorStoreFileBatchStatus:
        return VectorStoreFileBatchStatus(
            stores_db.batch_status(self.cancelled, await self._counts())
        )

    @strawberry.field(description=f"The batch's files. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        status: Annotated[
            VectorStoreFileStatus | None,
            strawberry.argument(description="Only the files with this status; all if null."),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        order: Order = SortOrder.DESC,
    ) -> Connection[VectorStoreFile]:
        request = PageRequest(first=first, after=after, last=last, before=before, order=order)
        return await _files(info, self.vector_store_id, status, request, self.id)

    @classmethod
    def from_document(cls, document: VectorStoreFileBatchDocument) -> "VectorStoreFileBatch":
        return cls(
            id=strawberry.ID(document.id),
            vector_store_id=strawberry.ID(document.vector_store_id),
            created_at=document.created_at,
            cancelled=document.cancelled_at is not None,
        )


@strawberry.type(
    description="A chunk that matched a search (OpenAI: an item of the search results)."
)
class VectorStoreSearchResult:
    vector_store_id: strawberry.ID = strawberry.field(description="The store searched.")
    file_id: strawberry.ID = strawberry.field(
        description="The file the chunk is from (OpenAI: `file_id`)."
    )
    filename: str = strawberry.field(description="That file's name (OpenAI: `filename`).")
    score: float = strawberry.field(description="How well it matched, 0 to 1 (OpenAI: `score`).")
    content: str = strawberry.field(description="The chunk's text (OpenAI: `content[].text`).")
    attributes: JSON = strawberry.field(description="The file's attributes (OpenAI: `attributes`).")


@strawberry.input(description="Fixed chunk sizes (OpenAI: `chunking_strategy.static`).")
class StaticChunkingInput:
    max_chunk_size_tokens: int = strawberry.field(
        default=800, description="The most tokens in a chunk, 100 to 4,096."
    )
    chunk_overlap_tokens: int = strawberry.field(
        default=400, description="Tokens shared by neighbouring chunks: 0 to half the chunk size."
    )


@strawberry.input(description="AUTO: 800-token chunks overlapping by 400; STATIC: your sizes.")
class ChunkingStrategyInput:
    type: ChunkingStrategyType = strawberry.field(
        default=ChunkingStrategyType.AUTO, description="The kind of chunking."
    )
    static: StaticChunkingInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required for, and only for, STATIC."
    )


@strawberry.input(description="Expire the store this many days after it was last active.")
class VectorStoreExpiresAfterInput:
    days: int = strawberry.field(description="1 to 365 days.")
    anchor: str = strawberry.field(
        default="last_active_at", description="What the time counts from: only `last_active_at`."
    )


@strawberry.input(description="A new vector store (OpenAI: `POST /vector_stores`'s body).")
class CreateVectorStoreInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 256 characters (OpenAI: `name`)."
    )
    file_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Files to ingest in the background, at most 500 (OpenAI: `file_ids`).",
    )
    chunking_strategy: ChunkingStrategyInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="How to split `fileIds`; unset: AUTO (OpenAI: `chunking_strategy`).",
    )
    expires_after: VectorStoreExpiresAfterInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Expire it after this many idle days; unset: never (OpenAI: `expires_after`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of strings: at most 16 keys of 64 characters, values of 512 "
        "(OpenAI: `metadata`).",
    )


@strawberry.input(
    description="Fields left out stay as they are; a null `name` or `expiresAfter` clears it."
)
class UpdateVectorStoreInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 256 characters (OpenAI: `name`)."
    )
    expires_after: VectorStoreExpiresAfterInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Its new expiry policy; null: it never expires (OpenAI: `expires_after`).",
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces its metadata (at most 16 keys); null keeps it (OpenAI: `metadata`).",
    )
