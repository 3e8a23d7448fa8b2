"""Vector stores, the files in them, file batches and the chunks search reads.

Statuses that follow from the files (a store's and a batch's `in_progress`/`completed`, and
`file_counts`) are counted from the files when read, never kept twice; `usage_bytes` and
`revision` are kept on the store, changed in the same transaction as the file they follow.
"""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self

from beanie import Document
from pydantic import AfterValidator, BaseModel, Field, model_validator
from pymongo import IndexModel

from models.base import ScopedDocument, utcnow
from models.ids import new_id
from models.lease import Lease
from models.repository import Repository
from models.validation import Metadata

MAX_FILES_PER_CREATE = 500
MAX_FILES_PER_BATCH = 2000
AUTO_CHUNK_TOKENS, AUTO_OVERLAP_TOKENS = 800, 400
MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_KEY_LENGTH = 64
MAX_ATTRIBUTE_STRING_LENGTH = 512

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]
ErrorCode = Literal["server_error", "unsupported_file", "invalid_file"]
AttributeValue = str | float | bool


def _check_attributes(attributes: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes, got {len(attributes)}")
    for key, value in attributes.items():
        if len(key) > MAX_ATTRIBUTE_KEY_LENGTH:
            raise ValueError(f"attribute key '{key[:20]}…' is longer than 64 characters")
        if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_STRING_LENGTH:
            raise ValueError(f"the value of '{key}' is longer than 512 characters")
    return attributes


Attributes = Annotated[dict[str, AttributeValue], AfterValidator(_check_attributes)]


class StaticChunking(BaseModel):
    max_chunk_size_tokens: int = Field(default=AUTO_CHUNK_TOKENS, ge=100, le=4096)
    chunk_overlap_tokens: int = Field(default=AUTO_OVERLAP_TOKENS, ge=0)

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> Self:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError("`chunkOverlapTokens` must not exceed half of `maxChunkSizeTokens`")
        return self


class ChunkingStrategy(BaseModel):
    """As OpenAI reports it: `auto` is stored as the static 800/400 it stands for."""

    type: Literal["static"] = "static"
    static: StaticChunking = Field(default_factory=StaticChunking)

    @classmethod
    def parse(cls, given: dict[str, Any] | None) -> dict[str, Any]:
        if not given or given.get("type", "auto") == "auto":
            if given and given.get("static") is not None:
                raise ValueError("`static` options belong to the STATIC strategy only")
            return {"type": "static", "static": {}}
        if given.get("static") is None:
            raise ValueError("the STATIC strategy needs `static` options")
        return given


class StoreExpiry(BaseModel):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int = Field(ge=1, le=365)


class LastError(BaseModel):
    code: ErrorCode
    message: str


class VectorStoreDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("vs"))
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    metadata: Metadata = Field(default_factory=dict)
    expires_after: StoreExpiry | None = None
    expires_at: datetime | None = None
    expired: bool = False
    last_active_at: datetime = Field(default_factory=utcnow)
    usage_bytes: int = 0
    # Grows with every change to the store's searchable chunks: a process's cached index of
    # the store is fresh while its revision matches.
    revision: int = 0
    # The thread this store was made for (message attachments), if any.
    thread_id: str | None = None

    def touch(self, now: datetime) -> None:
        self.last_active_at = now
        if self.expires_after is not None:
            self.expires_at = now + timedelta(days=self.expires_after.days)

    class Settings:
        name = "vector_stores"
        indexes = [
            IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("expires_at", 1)], sparse=True),
        ]


class VectorStoreFileDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("vsf"))
    vector_store_id: str
    file_id: str
    batch_id: str | None = None
    status: FileStatus = "in_progress"
    usage_bytes: int = 0
    last_error: LastError | None = None
    chunking_strategy: ChunkingStrategy = Field(default_factory=ChunkingStrategy)
    attributes: Attributes = Field(default_factory=dict)
    # Ingestion, leased like a run: `attempt` grows with each claim, and only the chunks of
    # the attempt that completed are searched. It starts at `first_attempt`, past the numbers
    # of any earlier entry of the file in the store (one removed and added again), so a worker
    # still on a removed entry never drops, nor mixes with, the new entry's chunks.
    lease: Lease | None = None
    first_attempt: int = 0
    attempt: int = 0
    # The embeddings model its chunks' vectors came from (None: not embedded). Vectors of
    # different models do not compare: search compares a query only with the configured one's.
    embedding_model: str | None = None

    class Settings:
        name = "vector_store_files"
        indexes = [
            IndexModel([("vector_store_id", 1), ("file_id", 1)], unique=True),
            IndexModel([("vector_store_id", 1), ("status", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("vector_store_id", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("vector_store_id", 1), ("batch_id", 1), ("status", 1)]),
            IndexModel([("status", 1), ("created_at", 1)]),
            IndexModel([("file_id", 1)]),
        ]


class VectorStoreFileBatchDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("vsfb"))
    vector_store_id: str
    cancelled_at: datetime | None = None

    class Settings:
        name = "vector_store_file_batches"


class ChunkDocument(Document):
    """One searchable piece of a file in a store (`text` is `content[start:end]`)."""

    vector_store_id: str
    file_id: str
    attempt: int
    index: int
    text: str
    start: int
    end: int
    tokens: int
    embedding: list[float] | None = None

    class Settings:
        name = "vector_store_chunks"
        indexes = [
            IndexModel([("vector_store_id", 1), ("file_id", 1), ("attempt", 1), ("index", 1)])
        ]


vector_stores = Repository(VectorStoreDocument, "vector store", "vs_")
vector_store_files = Repository(VectorStoreFileDocument, "vector store file", "vsf_")
file_batches = Repository(VectorStoreFileBatchDocument, "vector store file batch", "vsfb_")
