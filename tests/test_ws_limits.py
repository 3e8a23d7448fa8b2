"""Websocket limits on a real uvicorn: each closes the connection with its own 44xx code and a
reason naming the limit (connections per key, operations per connection, message size, the
connection_init deadline, bad keys from one address)."""

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from fastapi import FastAPI
from structlog.testing import CapturingLogger
from websockets.asyncio.client import ClientConnection

from app import websockets as websockets_handlers
from app.fairness import InFlight
from models.event import NewEvent, append
from models.thread import threads
from tests.apps import serving
from tests.graphql import GraphQLClient, ProjectClient
from tests.runs import CREATE_RUN, new_assistant, wait_for
from tests.servers import InProcessServer, until
from tests.ws import LEGACY_WS, TRANSPORT_WS, connect

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
THREAD_EVENTS = "subscription($t: ID!) { threadEvents(threadId: $t) { sequence } }"


@pytest.fixture(autouse=True)
def _cleaned_after(gql: GraphQLClient) -> None:
    """`gql` empties the database after each test."""


def connections(app: FastAPI) -> InFlight:
    counts: InFlight = app.state.fairness.connections
    return counts


async def closed(ws: ClientConnection) -> tuple[int, str]:
    """The close code and reason the server sent (messages before are skipped)."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as ended:
        frame = ended.rcvd
    assert frame is not None, "closed without a close frame"
    return frame.code, frame.reason


async def opened(url: str, protocol: str = TRANSPORT_WS) -> ClientConnection:
    return await websockets.connect(url, subprotocols=[protocol])  # type: ignore[list-item]


async def init(ws: ClientConnection, key: str) -> None:
    payload = {"authorization": f"Bearer {key}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))


def start(protocol: str, operation_id: str, query: str, **variables: Any) -> str:
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    payload = {"query": query, "variables": variables}
    return json.dumps({"id": operation_id, "type": kind, "payload": payload})


async def test_connections_per_key(app: FastAPI, dev_key: str, other: ProjectClient) -> None:
    mine = {"authorization": f"Bearer {dev_key}"}
    async with serving(app, ws_max_connections_per_key=2) as (changed, server):
        async with connect(server.ws_url, payload=mine), connect(server.ws_url, payload=mine):
            async with await opened(server.ws_url) as third:
                await init(third, dev_key)
                refused = await closed(third)
            # Another project's key has its own connections.
            async with connect(server.ws_url, payload={"authorization": f"Bearer {other.key}"}):
                assert connections(changed).total() == 3
        await until(lambda: connections(changed).total() == 0)
        async with connect(server.ws_url, payload=mine):
            assert connections(changed).total() == 1
    assert refused == (
        4429,
        "Too many connections for this key (THREADLINE_WS_MAX_CONNECTIONS_PER_KEY)",
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_operations_per_connection(
    app: FastAPI, dev_key: str, gql: GraphQLClient, protocol: str
) -> None:
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    payload = {"authorization": f"Bearer {dev_key}"}
    async with (
        serving(app, ws_max_operations=2) as (changed, server),
        connect(server.ws_url, protocol, payload) as ws,
    ):
        for operation_id in ("1", "2"):
            await ws.send(start(protocol, operation_id, THREAD_EVENTS, t=thread_id))
        # Messages are handled in order, so both are open when the third arrives; waiting until
        # both listen is for the teardown: a subscription cancelled while it opens can leave
        # its task hanging, and uvicorn's shutdown with it (left as found; see issue 12's notes).
        bus = changed.state.engine.bus
        await until(lambda: bus.listeners(thread_id) == 2)
        await ws.send(start(protocol, "3", THREAD_EVENTS, t=thread_id))
        refused = await closed(ws)
    reason = "Too many operations on this connection (THREADLINE_WS_MAX_OPERATIONS)"
    assert refused == (4429, reason)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_message_size(app: FastAPI, dev_key: str, protocol: str) -> None:
    payload = {"authorization": f"Bearer {dev_key}"}
    unpadded = start(protocol, "1", THREAD_EVENTS, t="thread_nope")
    fits = unpadded.replace(THREAD_EVENTS, THREAD_EVENTS + " " * (1000 - len(unpadded)))
    assert len(fits.encode()) == 1000
    too_big = fits.replace(THREAD_EVENTS, THREAD_EVENTS + " ")
    async with serving(app, ws_max_message_bytes=1000) as (changed, server):
        async with connect(server.ws_url, protocol, payload) as ws:
            await ws.send(fits)
            answer = json.loads(await ws.recv())
            await ws.send(too_big)
            refused = await closed(ws)
        await until(lambda: connections(changed).total() == 0)
    assert answer["id"] == "1"  # answered (the thread is unknown): the message was taken
    assert refused == (4413, "Message too big (THREADLINE_WS_MAX_MESSAGE_BYTES)")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_connection_init_deadline(app: FastAPI, protocol: str) -> None:
    async with (
        serving(app, ws_connection_init_timeout_seconds=0.2) as (_, server),
        await opened(server.ws_url, protocol) as ws,
    ):
        assert await closed(ws) == (4408, "Connection initialisation timeout")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_bad_keys_from_one_address_close_4429_but_good_keys_connect(
    app: FastAPI, dev_key: str, protocol: str
) -> None:
    async with serving(app, auth_failure_limit="2/minute") as (changed, server):
        refusals = []
        for _ in range(3):
            async with await opened(server.ws_url, protocol) as ws:
                await init(ws, "tl-proj-not-a-key")
                refusals.append(await closed(ws))
        async with connect(server.ws_url, protocol, {"authorization": f"Bearer {dev_key}"}):
            assert connections(changed).total() == 1
    assert [code for code, _ in refusals] == [4403, 4403, 4429]
    assert refusals[2][1] == "Too many failed authentications from this address"


BIG_EVENTS = """subscription($t: ID!) { threadEvents(threadId: $t, afterSequence: 0) {
  sequence ... on RunStatusEvent { run { instructions } } } }"""


@pytest.fixture
def closings(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    """The websocket handlers' log lines. One tells when the server gave up on a client that
    does not read: the close frame itself waits behind what the client has not read."""
    logged = CapturingLogger()
    monkeypatch.setattr(websockets_handlers, "log", logged)
    return logged


def gave_up(closings: CapturingLogger) -> bool:
    return any(call.args[0] == "websocket_closed_limit" for call in closings.calls)


TOO_SLOW_AFTER_HALF_A_SECOND = (
    4408,
    "Too slow: a result went unread for 0.5 s (THREADLINE_WS_SEND_TIMEOUT_SECONDS)",
)


@contextlib.asynccontextmanager
async def reluctant_client(
    server: InProcessServer, protocol: str
) -> AsyncIterator[ClientConnection]:
    """A websocket client that reads nothing until told to, with a 4 KB receive buffer and no
    compression (the tests' big, repetitive messages would compress to nothing)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before the handshake
    sock.connect(("127.0.0.1", server.port))
    async with websockets.connect(
        server.ws_url,
        sock=sock,
        subprotocols=[protocol],  # type: ignore[list-item]
        max_queue=1,
        max_size=None,
        compression=None,
    ) as ws:
        yield ws


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_stops_reading_is_closed_4408(
    app: FastAPI,
    dev_key: str,
    gql: GraphQLClient,
    protocol: str,
    closings: CapturingLogger,
) -> None:
    # A thread whose log holds 4 MB: runs of an assistant with long instructions (each status
    # event carries them).
    assistant = await new_assistant(gql, instructions="i" * 200_000)
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    for _ in range(5):
        run = await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
        await wait_for(gql, run["createRun"]["id"])
    async with serving(app, ws_send_timeout_seconds=0.5) as (changed, server):
        async with reluctant_client(server, protocol) as ws:
            await init(ws, dev_key)
            await ws.recv()  # connection_ack
            # Each replays the log: ten times what any kernel buffers on a connection.
            for operation in range(10):
                await ws.send(start(protocol, str(operation), BIG_EVENTS, t=thread_id))
            await until(lambda: gave_up(closings))
            refused = await closed(ws)  # reads what was sent before the close
        await until(lambda: connections(changed).total() == 0)
        assert changed.state.engine.bus.listeners(thread_id) == 0
    assert refused == TOO_SLOW_AFTER_HALF_A_SECOND


LIVE_TEXT = """subscription($t: ID!) { threadEvents(threadId: $t) {
  sequence ... on MessageDeltaEvent { textDelta } } }"""
DELTA_CHARACTERS = 1_000_000


async def write_deltas(thread_id: str, count: int, size: int = DELTA_CHARACTERS) -> list[str]:
    """`count` delta events, each in its own transaction, as a worker writes them."""
    texts = [f"{number}:" + "x" * size for number in range(count)]
    for text in texts:
        delta = {"content": [{"index": 0, "type": "text", "text": {"value": text}}]}
        data = {"message_id": "msg_x", "text_delta": text, "delta": delta}
        new = [NewEvent("thread.message.delta", "run_x", data)]
        await threads.transaction(
            lambda session, new=new: append(session, "proj_default", thread_id, new)  # type: ignore[misc]
        )
    return texts


@contextlib.asynccontextmanager
async def unread_subscriber(
    app: FastAPI, dev_key: str, protocol: str, send_timeout: float, thread_id: str
) -> AsyncIterator[tuple[ClientConnection, list[int]]]:
    """A subscriber to the thread's live events that has read the first, then reads nothing
    until told to (a 4 KB receive buffer), and how many sends to it the server began at once
    and had to finish later, its connection full (app/websockets.py). Its key is checked
    once a minute, so that every event after the first can be sent at once."""
    finished_later: list[int] = []
    resumed = websockets_handlers.resumed

    def counted(*args: Any) -> Any:
        finished_later.append(1)
        return resumed(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(websockets_handlers, "resumed", counted)
        async with serving(
            app, ws_send_timeout_seconds=send_timeout, ws_auth_recheck_seconds=60
        ) as (changed, server):
            async with reluctant_client(server, protocol) as ws:
                await init(ws, dev_key)
                await ws.recv()  # connection_ack
                await ws.send(start(protocol, "live", LIVE_TEXT, t=thread_id))
                await until(lambda: changed.state.engine.bus.listeners(thread_id) == 1)
                await write_deltas(thread_id, 1, size=10)
                first = json.loads(await ws.recv())
                assert first["payload"]["data"]["threadEvents"]["sequence"] == 1, first
                yield ws, finished_later
            await until(lambda: connections(changed).total() == 0)
            assert changed.state.engine.bus.listeners(thread_id) == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_live_events_wait_in_order_for_a_client_that_reads_late(
    app: FastAPI, dev_key: str, gql: GraphQLClient, protocol: str
) -> None:
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    async with unread_subscriber(app, dev_key, protocol, 30, thread_id) as (ws, later):
        texts = await write_deltas(thread_id, 12)  # 12 MB: more than the kernel buffers
        await until(lambda: later == [1])  # a send begun at once waits for the client
        received: list[dict[str, Any]] = []
        while len(received) < len(texts):
            message = json.loads(await ws.recv())
            assert message.get("id") == "live", str(message)[:300]
            received.append(message["payload"]["data"]["threadEvents"])
    assert [event["sequence"] for event in received] == list(range(2, 14))
    assert [event["textDelta"] for event in received] == texts


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_stops_reading_live_events_is_closed_4408(
    app: FastAPI,
    dev_key: str,
    gql: GraphQLClient,
    protocol: str,
    closings: CapturingLogger,
) -> None:
    thread_id = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    async with unread_subscriber(app, dev_key, protocol, 0.5, thread_id) as (ws, later):
        await write_deltas(thread_id, 12)
        await until(lambda: gave_up(closings))
        refused = await closed(ws)
    assert later == [1]
    assert refused == TOO_SLOW_AFTER_HALF_A_SECOND
