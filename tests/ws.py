"""A small real GraphQL-over-websocket client (graphql-transport-ws and legacy graphql-ws)."""

import itertools
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Live:
    """Where a server takes websockets, and the `connection_init` payload that authenticates."""

    ws_url: str
    payload: dict[str, Any]


class SubscriptionError(AssertionError):
    def __init__(self, errors: Any) -> None:
        super().__init__(errors)
        self.errors = errors


@asynccontextmanager
async def connect(
    url: str,
    protocol: str = TRANSPORT_WS,
    payload: dict[str, Any] | None = None,
    origin: str | None = None,
) -> AsyncIterator[ClientConnection]:
    """`origin`: the `Origin` header a browser page would send (none by default)."""
    page = Origin(origin) if origin is not None else None
    async with websockets.connect(url, subprotocols=[protocol], origin=page) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "connection_ack":
                break
            assert message["type"] == "ka", message
        yield socket


async def subscribe(
    socket: ClientConnection, query: str, **variables: Any
) -> AsyncGenerator[dict[str, Any], None]:
    """Each `data` the subscription sends, until it completes; errors raise."""
    legacy = socket.subprotocol == LEGACY_WS
    operation = str(next(_ids))
    start = "start" if legacy else "subscribe"
    payload = {"query": query, "variables": variables}
    await socket.send(json.dumps({"type": start, "id": operation, "payload": payload}))
    try:
        while True:
            message = json.loads(await socket.recv())
            if message.get("id") != operation:
                continue  # keep-alives, other operations
            kind = message["type"]
            if kind in ("next", "data"):
                if message["payload"].get("errors"):
                    raise SubscriptionError(message["payload"]["errors"])
                yield message["payload"]["data"]
            elif kind == "error":
                raise SubscriptionError(message["payload"])
            elif kind == "complete":
                return
    finally:
        stop = "stop" if legacy else "complete"
        if socket.state.name == "OPEN":
            await socket.send(json.dumps({"type": stop, "id": operation}))
