"""Websockets on a real uvicorn: the key goes in `connection_init`; bad keys and revoked keys
close the connection with 4403, in both protocols."""

import json
import time
from typing import Any

import pytest
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection

from tests.apps import serving
from tests.commands import every_command_sent
from tests.graphql import GraphQLClient, ProjectClient
from tests.servers import InProcessServer

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
PROTOCOLS = [TRANSPORT, LEGACY]
QUERY = "{ assistants { nodes { id } } }"


async def connect(server: InProcessServer, protocol: str) -> ClientConnection:
    return await websockets.connect(server.ws_url, subprotocols=[protocol])  # type: ignore[list-item]


async def init(ws: ClientConnection, payload: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await ws.send(json.dumps(message))
    answer: dict[str, Any] = json.loads(await ws.recv())
    return answer


async def run(ws: ClientConnection, protocol: str, operation_id: str, query: str) -> dict[str, Any]:
    """graphql-transport-ws runs queries; legacy graphql-ws answers them with an error (it
    serves subscriptions only), which still shows the connection is open and served."""
    start = "subscribe" if protocol == TRANSPORT else "start"
    await ws.send(json.dumps({"id": operation_id, "type": start, "payload": {"query": query}}))
    result: dict[str, Any] = json.loads(await ws.recv())
    if protocol == LEGACY:
        assert result == {
            "type": "error",
            "id": operation_id,
            "payload": {
                "message": "queries are not allowed",
                "extensions": {"code": "BAD_USER_INPUT"},
            },
        }
        return {}
    assert result["type"] == "next", result
    complete = json.loads(await ws.recv())
    assert complete == {"id": operation_id, "type": "complete"}
    payload: dict[str, Any] = result["payload"]
    return payload


async def closed_with(ws: ClientConnection) -> int | None:
    """The close code the server sent, once the connection ends (messages before are skipped)."""
    return (await close_of(ws))[0]


async def close_of(ws: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason the server sent, once the connection ends."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, None)


MISSING = "Forbidden: Missing API key: send `Authorization: Bearer <key>`."
INVALID = "Forbidden: The API key is invalid or has been revoked."


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, MISSING),
        ({}, MISSING),
        ({"authorization": "Bearer tl-proj-wrong"}, INVALID),
        ({"authorization": 42}, INVALID),
    ],
)
async def test_connection_init_without_a_valid_key_closes_4403(
    server: InProcessServer, protocol: str, payload: dict[str, Any] | None, reason: str
) -> None:
    """The close reason says what was wrong with the key."""
    async with await connect(server, protocol) as ws:
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await ws.send(json.dumps(message))
        assert await close_of(ws) == (4403, reason)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_handshake_s_authorization_header_is_a_key_too(
    server: InProcessServer, protocol: str, other: ProjectClient
) -> None:
    """Server-side clients send the key as a header; connection_init's payload, when it has
    one, is the one used."""
    headers = {"Authorization": f"Bearer {other.key}"}
    async with websockets.connect(
        server.ws_url,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers,
    ) as ws:
        assert (await init(ws, None))["type"] == "connection_ack"
        assert "errors" not in await run(ws, protocol, "1", QUERY)
    async with websockets.connect(
        server.ws_url,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers,
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
        )
        assert await close_of(ws) == (4403, INVALID)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_operations_before_connection_init_are_refused(
    server: InProcessServer, protocol: str
) -> None:
    async with await connect(server, protocol) as ws:
        start = "subscribe" if protocol == TRANSPORT else "start"
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": QUERY}}))
        assert await closed_with(ws) == 4401


async def test_a_project_key_sees_its_own_project_over_websockets(
    server: InProcessServer, gql: GraphQLClient, other: ProjectClient
) -> None:
    protocol = TRANSPORT
    mine = await other('mutation { createAssistant(input: {model: "threadline/scripted"}) { id } }')
    await gql('mutation { createAssistant(input: {model: "threadline/scripted"}) { id } }')
    async with await connect(server, protocol) as ws:
        assert (await init(ws, {"authorization": f"Bearer {other.key}"}))[
            "type"
        ] == "connection_ack"
        payload = await run(ws, protocol, "1", QUERY)
    assert payload["data"] == {"assistants": {"nodes": [mine["createAssistant"]]}}


async def test_admin_key_over_websockets_is_forbidden_project_data(
    server: InProcessServer, admin: GraphQLClient, admin_key: str
) -> None:
    protocol = TRANSPORT
    async with await connect(server, protocol) as ws:
        assert (await init(ws, {"authorization": f"Bearer {admin_key}"}))[
            "type"
        ] == "connection_ack"
        payload = await run(ws, protocol, "1", QUERY)
    assert payload["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_revoking_a_key_closes_its_open_websocket(
    server: InProcessServer, protocol: str, admin: GraphQLClient, other: ProjectClient
) -> None:
    async with await connect(server, protocol) as ws:
        assert (await init(ws, {"authorization": f"Bearer {other.key}"}))[
            "type"
        ] == "connection_ack"
        assert "errors" not in await run(ws, protocol, "1", QUERY)  # served while valid
        await admin("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", id=other.key_id)
        start = "subscribe" if protocol == TRANSPORT else "start"
        await ws.send(json.dumps({"id": "2", "type": start, "payload": {"query": QUERY}}))
        assert await close_of(ws) == (4403, "Forbidden: The API key has been revoked.")


async def test_a_keys_operations_share_its_revocation_check(
    app: FastAPI, other: ProjectClient
) -> None:
    """A start is checked against the process's last answer for the key, at most half of
    THREADLINE_WS_AUTH_RECHECK_SECONDS old (and kept for a second at least): many starts in a
    row make a read a second at most, not one each. (A revocation through this process still
    counts at once: test_revoking_a_key_closes_its_open_websocket.)"""
    starts = 6
    async with (
        serving(app, ws_auth_recheck_seconds=60) as (_, server),
        await connect(server, TRANSPORT) as ws,
    ):
        acked = await init(ws, {"authorization": f"Bearer {other.key}"})
        assert acked["type"] == "connection_ack"
        clock = time.monotonic()
        with every_command_sent() as sent:
            for number in range(starts):
                assert "errors" not in await run(ws, TRANSPORT, str(number), QUERY)
        elapsed = time.monotonic() - clock
    reads = [
        command for command in sent if (command.name, command.collection) == ("find", "api_keys")
    ]
    assert 1 <= len(reads) <= 1 + int(elapsed), (len(reads), elapsed)
    assert len(reads) < starts or elapsed >= starts - 1
