"""Vector stores, their files and file batches, and search results, as GraphQL types."""

import enum
from datetime import datetime

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
from schema.common import PAGE_ARGUMENTS_HELP, Connection, Node, json_value


@strawberry.enum
class VectorStoreStatus(enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"


@strawberry.enum
class VectorStoreFileStatus(enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


@strawberry.enum
class VectorStoreFileBatchStatus(enum.Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


@strawberry.enum(description="Why a file could not be ingested (OpenAI's `last_error.code`).")
class VectorStoreFileErrorCode(enum.Enum):
    SERVER_ERROR = "server_error"
    UNSUPPORTED_FILE = "unsupported_file"
    INVALID_FILE = "invalid_file"


@strawberry.enum
class ChunkingStrategyType(enum.Enum):
    AUTO = "auto"
    STATIC = "static"


@strawberry.type
class FileCounts:
    in_progress: int
    completed: int
    cancelled: int
    failed: int
    total: int

    @classmethod
    def of(cls, counts: stores_db.FileCounts) -> "FileCounts":
        return cls(
            in_progress=counts.in_progress,
            completed=counts.completed,
            cancelled=counts.cancelled,
            failed=counts.failed,
            total=counts.total,
        )


@strawberry.type
class VectorStoreExpiresAfter:
    anchor: str
    days: int


@strawberry.type
class StaticChunking:
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


@strawberry.type
class ChunkingStrategy:
    type: ChunkingStrategyType
    static: StaticChunking

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


@strawberry.type
class VectorStoreFileError:
    code: VectorStoreFileErrorCode
    message: str


@strawberry.type(description="A file in a vector store; its `id` is the file's id.")
class VectorStoreFile:
    id: strawberry.ID
    vector_store_id: strawberry.ID
    created_at: datetime
    status: VectorStoreFileStatus
    usage_bytes: int
    last_error: VectorStoreFileError | None
    chunking_strategy: ChunkingStrategy
    attributes: JSON

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


@strawberry.type
class VectorStore(Node):
    created_at: datetime
    name: str | None
    usage_bytes: float = strawberry.field(
        description="Bytes of text the store holds (a Float: a store can pass 2^31)."
    )
    last_active_at: datetime
    expires_after: VectorStoreExpiresAfter | None
    expires_at: datetime | None
    metadata: JSON
    expired: strawberry.Private[bool]
    counted: strawberry.Private[stores_db.FileCounts | None] = None

    async def _counts(self) -> stores_db.FileCounts:
        """Counted once per object, however many of its fields need them."""
        if self.counted is None:
            self.counted = await stores_db.file_counts(self.id)
        return self.counted

    @strawberry.field
    async def file_counts(self) -> FileCounts:
        return FileCounts.of(await self._counts())

    @strawberry.field
    async def status(self) -> VectorStoreStatus:
        return VectorStoreStatus(stores_db.store_status(self.expired, await self._counts()))

    @strawberry.field(description=f"The store's files, newest first. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        status: VectorStoreFileStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
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


@strawberry.type
class VectorStoreFileBatch(Node):
    vector_store_id: strawberry.ID
    created_at: datetime
    cancelled: strawberry.Private[bool]
    counted: strawberry.Private[stores_db.FileCounts | None] = None

    async def _counts(self) -> stores_db.FileCounts:
        """Counted once per object, however many of its fields need them."""
        if self.counted is None:
            self.counted = await stores_db.file_counts(self.vector_store_id, self.id)
        return self.counted

    @strawberry.field
    async def file_counts(self) -> FileCounts:
        return FileCounts.of(await self._counts())

    @strawberry.field
    async def status(self) -> VectorStoreFileBatchStatus:
        return VectorStoreFileBatchStatus(
            stores_db.batch_status(self.cancelled, await self._counts())
        )

    @strawberry.field(description=f"The batch's files. {PAGE_ARGUMENTS_HELP}")
    async def files(
        self,
        info: Info,
        status: VectorStoreFileStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: SortOrder = SortOrder.DESC,
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


@strawberry.type
class VectorStoreSearchResult:
    vector_store_id: strawberry.ID
    file_id: strawberry.ID
    filename: str
    score: float
    content: str
    attributes: JSON


@strawberry.input
class StaticChunkingInput:
    max_chunk_size_tokens: int = 800
    chunk_overlap_tokens: int = 400


@strawberry.input(description="AUTO: 800-token chunks overlapping by 400; STATIC: your sizes.")
class ChunkingStrategyInput:
    type: ChunkingStrategyType = ChunkingStrategyType.AUTO
    static: StaticChunkingInput | None = strawberry.UNSET


@strawberry.input(description="Expire the store this many days after it was last active.")
class VectorStoreExpiresAfterInput:
    days: int
    anchor: str = "last_active_at"


@strawberry.input
class CreateVectorStoreInput:
    name: str | None = strawberry.UNSET
    file_ids: list[strawberry.ID] | None = strawberry.UNSET
    chunking_strategy: ChunkingStrategyInput | None = strawberry.UNSET
    expires_after: VectorStoreExpiresAfterInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class UpdateVectorStoreInput:
    name: str | None = strawberry.UNSET
    expires_after: VectorStoreExpiresAfterInput | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
