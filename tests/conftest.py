"""One real embedded MongoDB wire server per test session; the real app over real HTTP.

Keys come from the real first-start path: the app's lifespan creates the `default` project and
its key (state_dir/dev-key) and the admin key (state_dir/admin-key).
"""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openai import AsyncOpenAI

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.keys import ADMIN_KEY_FILE, DEV_KEY_FILE, read_secret
from app.main import create_app
from app.settings import Settings
from models import file_storage
from models.api_key import ApiKeyDocument
from models.database import DOCUMENTS
from models.errors import ThreadlineError
from models.liveness import ProcessDocument
from models.project import DEFAULT_PROJECT_ID, ProjectDocument
from models.run import RunDocument
from tests import commands
from tests.graphql import GraphQLClient, ProjectClient, bearer
from tests.openai_server import OpenAICompatibleServer, Script, Scripted
from tests.servers import InProcessServer
from tests.ws import Live

BASE_URL = "http://threadline.test"


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (CI's timeout, a user's kill) ends the run as Ctrl-C does: fixtures tear
    down, so the servers and workers the tests started do not outlive it."""
    config.addinivalue_line("markers", "slow: starts real processes")
    commands.listen()
    signal.signal(signal.SIGTERM, _interrupted)


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


@pytest.fixture
def endpoint(model_server: OpenAICompatibleServer) -> Scripted:
    def script(plan: Script) -> OpenAICompatibleServer:
        model_server.script = plan
        model_server.requests.clear()
        model_server.disconnected.clear()
        return model_server

    return script


@pytest.fixture
def embeddings_endpoint(model_server: OpenAICompatibleServer) -> OpenAICompatibleServer:
    """The same endpoint's `/v1/embeddings`, its requests cleared and answering them all."""
    model_server.embedding_requests.clear()
    model_server.embeddings_fail_with = []
    return model_server


@pytest.fixture(scope="session")
def settings(
    mongodb_uri: str, model_server: OpenAICompatibleServer, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    # Limits no test reaches by accident (tests/test_limits.py, tests/test_fairness.py check them).
    return Settings(
        mongodb_uri=mongodb_uri,
        database_name="threadline_test",
        state_dir=tmp_path_factory.mktemp("state"),
        rate_limit="10000/second",
        client_rate_limit="10000/second",
        max_concurrent_per_key=1000,
        auth_failure_limit="10000/second",
        openai_base_url=model_server.base_url,
        run_lease_seconds=5,
        ws_auth_recheck_seconds=0.3,
        # code_interpreter's limits, small enough that tests hitting them end soon.
        sandbox_cpu_seconds=3,
        sandbox_wall_seconds=15,
        sandbox_output_bytes=64 * 1024,
        sandbox_memory_bytes=512 * 1024 * 1024,
        sandbox_processes=32,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
async def live(app: FastAPI, dev_key: str) -> AsyncIterator[Live]:
    """The same app over a real socket for the whole session (websockets), with the dev key."""
    async with InProcessServer(app) as server:
        yield Live(server.ws_url, {"authorization": f"Bearer {dev_key}"})


@pytest.fixture(scope="session")
def dev_key(app: FastAPI, settings: Settings) -> str:
    return read_secret(Path(settings.state_dir) / DEV_KEY_FILE)


@pytest.fixture(scope="session")
def admin_key(app: FastAPI, settings: Settings) -> str:
    return read_secret(Path(settings.state_dir) / ADMIN_KEY_FILE)


async def clean_database(app: FastAPI, dev_key: str) -> None:
    """Everything a test made; the default project and its dev key stay.

    Runs still going are cancelled and waited for first: deleting a thread under a worker
    that writes to it every few milliseconds makes both sides retry their conflicting writes."""
    for run in await RunDocument.find({"active": True}).to_list():
        with contextlib.suppress(ThreadlineError):
            await app.state.engine.runs.cancel_run(run.project_id, run.id)
    deadline = asyncio.get_running_loop().time() + 60
    while await RunDocument.find_one({"status": {"$in": ["in_progress", "cancelling"]}}):
        assert asyncio.get_running_loop().time() < deadline, "runs never wound down"
        await asyncio.sleep(0.05)
    for document in DOCUMENTS:
        if document not in (ProjectDocument, ApiKeyDocument, ProcessDocument):
            await document.get_pymongo_collection().delete_many({})
    database = ProjectDocument.get_pymongo_collection().database
    for suffix in ("files", "chunks"):
        await database[f"{file_storage.BUCKET}.{suffix}"].delete_many({})
    await ProjectDocument.get_pymongo_collection().delete_many({"_id": {"$ne": DEFAULT_PROJECT_ID}})
    dev = await ApiKeyDocument.find_one({"project_id": DEFAULT_PROJECT_ID, "name": "dev"})
    keep = dev.id if dev else ""
    await ApiKeyDocument.get_pymongo_collection().delete_many({"_id": {"$ne": keep}})


def client(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)


@pytest.fixture
async def anonymous_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as http:
        yield http


@pytest.fixture
async def http(app: FastAPI, dev_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP into the app, as the default project (its dev key)."""
    async with client(app, bearer(dev_key)) as http:
        yield http


@pytest.fixture
async def gql(app: FastAPI, http: httpx.AsyncClient, dev_key: str) -> AsyncIterator[GraphQLClient]:
    yield GraphQLClient(http)
    await clean_database(app, dev_key)


@pytest.fixture
async def admin(app: FastAPI, admin_key: str, dev_key: str) -> AsyncIterator[GraphQLClient]:
    async with client(app, bearer(admin_key)) as http:
        yield GraphQLClient(http)
    await clean_database(app, dev_key)


@pytest.fixture
async def other(app: FastAPI, admin: GraphQLClient) -> AsyncIterator[ProjectClient]:
    """A second project, made through the admin API, and a client with its key."""
    project = await admin('mutation { createProject(name: "other") { id } }')
    project_id = project["createProject"]["id"]
    created = await admin(
        'mutation($p: ID!) { createApiKey(projectId: $p, name: "other") { id key } }',
        p=project_id,
    )
    secret = created["createApiKey"]
    async with client(app, bearer(secret["key"])) as http:
        yield ProjectClient(http, project_id, secret["id"], secret["key"])


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[InProcessServer]:
    """The same app, served by a real uvicorn on a free loopback port (for websockets)."""
    async with InProcessServer(app) as running:
        yield running


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def rest_url(live: Live) -> str:
    """The live server's OpenAI-compatible API, for the official SDKs."""
    return live.ws_url.replace("ws://", "http://").removesuffix("/graphql") + "/v1"


@pytest.fixture
async def openai_client(app: FastAPI, rest_url: str, dev_key: str) -> AsyncIterator[AsyncOpenAI]:
    """The official SDK, unchanged but for its base URL, with the default project's key. No
    retries: a test sees every answer as it was."""
    async with AsyncOpenAI(base_url=rest_url, api_key=dev_key, max_retries=0) as sdk:
        yield sdk
    await clean_database(app, dev_key)


@pytest.fixture
async def other_openai(rest_url: str, other: ProjectClient) -> AsyncIterator[AsyncOpenAI]:
    """The SDK with a second project's key."""
    async with AsyncOpenAI(base_url=rest_url, api_key=other.key, max_retries=0) as sdk:
        yield sdk
