"""Browsers: a page from an origin that is not allowed cannot call the API or open a websocket.

HTTP goes through the real app (its middleware included); websockets through a real uvicorn,
whose answer to a handshake closed before it is accepted is HTTP 403.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import InvalidStatus

from app.main import create_app
from app.settings import Settings
from tests.graphql import bearer
from tests.servers import InProcessServer
from tests.ws import LEGACY_WS, TRANSPORT_WS, Live, connect

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"
QUERY = {"query": "{ assistants { nodes { id } } }"}
PREFLIGHT_HEADERS = "authorization, content-type, apollo-require-preflight"
ALLOW_ORIGIN = "access-control-allow-origin"


def browser_app(app: FastAPI, **changes: Any) -> FastAPI:
    """The real app with some settings changed, sharing the session app's database and keys
    (as tests/test_limits.py does: its state is copied, not made by a second lifespan)."""
    settings: Settings = app.state.settings
    application = create_app(settings.model_copy(update=changes))
    application.state.authenticator = app.state.authenticator
    application.state.dev_key = app.state.dev_key
    return application


@asynccontextmanager
async def http(application: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as client:
        yield client


async def preflight(
    client: httpx.AsyncClient, origin: str, path: str = "/graphql"
) -> httpx.Response:
    """What a browser asks before a POST with a JSON body and a bearer key."""
    headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": PREFLIGHT_HEADERS,
    }
    return await client.options(path, headers=headers)


async def post(client: httpx.AsyncClient, origin: str, key: str) -> httpx.Response:
    return await client.post("/graphql", json=QUERY, headers={"origin": origin} | bearer(key))


async def test_allowed_origin_preflight_is_answered_and_cached(app: FastAPI) -> None:
    async with http(browser_app(app, cors_origins=[ALLOWED])) as client:
        response = await preflight(client, ALLOWED)
    assert response.status_code == 200
    assert response.headers[ALLOW_ORIGIN] == ALLOWED
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {
        "GET",
        "POST",
        "OPTIONS",
    }
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    for name in (*PREFLIGHT_HEADERS.split(", "), "x-apollo-operation-name", "graphql-preflight"):
        assert name in allowed_headers
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers


async def test_allowed_origin_reads_the_answer(app: FastAPI, dev_key: str) -> None:
    async with http(browser_app(app, cors_origins=[ALLOWED])) as client:
        response = await post(client, ALLOWED, dev_key)
    assert response.json()["data"] == {"assistants": {"nodes": []}}
    assert response.headers[ALLOW_ORIGIN] == ALLOWED
    assert "access-control-allow-credentials" not in response.headers
    assert "access-control-expose-headers" not in response.headers


async def test_allowed_origin_may_download_file_content(app: FastAPI) -> None:
    async with http(browser_app(app, cors_origins=[ALLOWED])) as client:
        response = await preflight(client, ALLOWED, "/files/file-unknown/content")
    assert response.status_code == 200
    assert response.headers[ALLOW_ORIGIN] == ALLOWED


async def test_oversized_body_refusal_is_readable_by_an_allowed_origin(
    app: FastAPI, dev_key: str
) -> None:
    async with http(browser_app(app, cors_origins=[ALLOWED], max_body_bytes=10)) as client:
        response = await post(client, ALLOWED, dev_key)
    assert response.status_code == 413
    assert response.headers[ALLOW_ORIGIN] == ALLOWED


async def test_other_origin_gets_no_cors_answer(app: FastAPI, dev_key: str) -> None:
    """The browser then neither sends the POST nor lets the page read an answer. The server
    still answers a request sent without a preflight (it cannot tell): that is why such simple
    requests are refused for GET queries and uploads (tests/test_limits.py, CSRF)."""
    async with http(browser_app(app, cors_origins=[ALLOWED])) as client:
        asked = await preflight(client, OTHER)
        sent = await post(client, OTHER, dev_key)
    assert asked.status_code == 400
    assert ALLOW_ORIGIN not in asked.headers
    assert ALLOW_ORIGIN not in sent.headers


@pytest.mark.parametrize("origin", [ALLOWED, OTHER, "http://127.0.0.1:8000"])
async def test_default_settings_allow_no_origin(app: FastAPI, dev_key: str, origin: str) -> None:
    async with http(app) as client:
        asked = await preflight(client, origin)
        sent = await post(client, origin, dev_key)
    for response in (asked, sent):
        assert not any(name.startswith("access-control-") for name in response.headers)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[InProcessServer]:
    async with InProcessServer(browser_app(app, cors_origins=[ALLOWED])) as server:
        yield server


async def opens(url: str, dev_key: str, origin: str | None, protocol: str = TRANSPORT_WS) -> bool:
    """The socket opened and `connection_init` was acknowledged (refusals raise)."""
    payload = {"authorization": f"Bearer {dev_key}"}
    async with connect(url, protocol, payload, origin=origin) as socket:
        return socket.subprotocol == protocol


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize("origin", [OTHER, "null", "http://127.0.0.1:1"])
async def test_websocket_from_other_origin_is_refused(
    app: FastAPI, dev_key: str, origin: str, protocol: str
) -> None:
    async with served(app) as server:
        with pytest.raises(InvalidStatus) as refused:
            await opens(server.ws_url, dev_key, origin, protocol)
    assert refused.value.response.status_code == 403


async def test_websocket_refused_by_default(live: Live, dev_key: str) -> None:
    """The session's app has no allowlist: another site's page is refused there too."""
    with pytest.raises(InvalidStatus) as refused:
        await opens(live.ws_url, dev_key, ALLOWED)
    assert refused.value.response.status_code == 403


async def test_websocket_from_allowed_origin_opens(app: FastAPI, dev_key: str) -> None:
    async with served(app) as server:
        assert await opens(server.ws_url, dev_key, ALLOWED)


async def test_websocket_without_origin_opens(app: FastAPI, dev_key: str) -> None:
    """Python, Node and other clients that are not browsers send no Origin."""
    async with served(app) as server:
        assert await opens(server.ws_url, dev_key, None)


async def test_websocket_from_the_servers_own_origin_opens(live: Live, dev_key: str) -> None:
    """GraphiQL, served by this server, opens its socket from the same origin."""
    own = live.ws_url.removeprefix("ws://").removesuffix("/graphql")
    assert await opens(live.ws_url, dev_key, f"http://{own}")


@pytest.mark.parametrize(
    ("text", "origins"),
    [
        ("https://App.example.com, http://127.0.0.1:5173", [ALLOWED, "http://127.0.0.1:5173"]),
        ('["https://app.example.com:443"]', [ALLOWED]),
        ("", []),
    ],
)
def test_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, origins: list[str]
) -> None:
    monkeypatch.setenv("THREADLINE_CORS_ORIGINS", text)
    assert Settings().cors_origins == origins


@pytest.mark.parametrize(
    "text", ["app.example.com", "https://app.example.com/", "*", "https://a.example.com:99999"]
)
def test_malformed_origin_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("THREADLINE_CORS_ORIGINS", text)
    with pytest.raises(ValueError, match="is not an origin"):
        Settings()
