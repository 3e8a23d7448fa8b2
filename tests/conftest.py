"""One real embedded MongoDB wire server per test session; the real app over real HTTP."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.main import create_app
from app.processes import free_port
from app.settings import Settings
from models.database import DOCUMENTS
from models.project import ProjectDocument
from tests.graphql import GraphQLClient
from tests.openai_server import OpenAICompatibleServer, Script


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    database = EmbeddedDatabase(MEMORY)
    yield database.start()
    database.stop()


@pytest.fixture(scope="session")
async def model_server() -> AsyncIterator[OpenAICompatibleServer]:
    """The OpenAI-compatible endpoint the app sends every model but the scripted one to;
    tests set its `script` and read its `requests`."""
    async with OpenAICompatibleServer(Script(text="Hello from the endpoint")) as server:
        yield server


@pytest.fixture(scope="session")
def settings(mongodb_uri: str, model_server: OpenAICompatibleServer) -> Settings:
    return Settings(
        mongodb_uri=mongodb_uri,
        database_name="threadline_test",
        openai_base_url=model_server.base_url,
        run_lease_seconds=5,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The same app over a real socket (for websockets): its base URL, `http://…`."""
    port = free_port()
    config = uvicorn.Config(app, port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the live server did not start"
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


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
