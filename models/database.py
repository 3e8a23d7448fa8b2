"""The MongoDB connection, Beanie's initialisation and multi-document transactions."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from models.assistant import AssistantDocument
from models.message import MessageDocument
from models.project import ProjectDocument
from models.thread import ThreadDocument

DOCUMENTS: list[type[Document]] = [
    ProjectDocument,
    AssistantDocument,
    ThreadDocument,
    MessageDocument,
]
T = TypeVar("T")


class Database:
    """One client per process; `transaction` runs a unit of work atomically."""

    def __init__(self, uri: str, name: str) -> None:
        self.client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            uri, tz_aware=True, uuidRepresentation="standard"
        )
        self.name = name

    async def connect(self) -> None:
        await self.client.admin.command("ping")
        await init_beanie(database=self.client[self.name], document_models=DOCUMENTS)

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        async with self.client.start_session() as session:
            return await session.with_transaction(work)

    async def close(self) -> None:
        await self.client.close()
