"""The MongoDB connection and Beanie's initialisation."""

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient

from models import file_storage
from models.api_key import ApiKeyDocument
from models.assistant import AssistantDocument
from models.event import EventDocument
from models.file import FileDocument
from models.liveness import DEFAULT_LEASE_SECONDS, ProcessDocument, process
from models.message import MessageDocument
from models.migrations import migrate
from models.project import ProjectDocument
from models.rate_count import RateCountDocument
from models.run import RunDocument
from models.run_step import RunStepDocument
from models.thread import ThreadDocument
from models.vector_store import (
    ChunkDocument,
    VectorStoreDocument,
    VectorStoreFileBatchDocument,
    VectorStoreFileDocument,
)

DOCUMENTS: list[type[Document]] = [
    ProjectDocument,
    ApiKeyDocument,
    AssistantDocument,
    ThreadDocument,
    MessageDocument,
    RunDocument,
    RunStepDocument,
    EventDocument,
    ProcessDocument,
    FileDocument,
    VectorStoreDocument,
    VectorStoreFileDocument,
    VectorStoreFileBatchDocument,
    ChunkDocument,
    RateCountDocument,
]


class Database:
    """One client per process (transactions: `Repository.transaction`)."""

    def __init__(self, uri: str, name: str) -> None:
        self.client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            uri, tz_aware=True, uuidRepresentation="standard"
        )
        self.name = name

    async def connect(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        await self.client.admin.command("ping")
        await init_beanie(database=self.client[self.name], document_models=DOCUMENTS)
        await file_storage.ensure_indexes()
        await migrate(self.client[self.name])
        process.start(lease_seconds)

    async def missing_indexes(self) -> list[str]:
        """The indexes the models declare that the database lacks (`collection.name`): none
        once `connect` has made them, unless the database lost them since (an in-memory one
        restarted, a collection dropped by hand)."""
        database = self.client[self.name]
        missing = []
        for model in DOCUMENTS:
            name = model.get_collection_name()
            present = {index["name"] async for index in await database[name].list_indexes()}
            wanted = {index.name for index in model.get_settings().indexes}
            missing += [f"{name}.{index}" for index in sorted(wanted - present)]
        return missing

    async def close(self) -> None:
        await process.stop()
        await self.client.close()
