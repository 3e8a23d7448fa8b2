"""One real embedded MongoDB wire server per test session; the real app over real HTTP."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.main import create_app
from app.settings import Settings
from models.database import DOCUMENTS
from models.project import ProjectDocument
from tests.graphql import GraphQLClient


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    database = EmbeddedDatabase(MEMORY)
    yield database.start()
    database.stop()


@pytest.fixture(scope="session")
def settings(mongodb_uri: str) -> Settings:
    return Settings(mongodb_uri=mongodb_uri, database_name="threadline_test")


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as client:
        yield client


@pytest.fixture
async def gql(http: httpx.AsyncClient) -> AsyncIterator[GraphQLClient]:
    yield GraphQLClient(http)
    # Each test cleans what it made (the default project stays).
    for document in DOCUMENTS:
        if document is not ProjectDocument:
            await document.get_pymongo_collection().delete_many({})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "slow: starts real processes")
