"""The floor under an idle subscriber's memory: what the stack alone holds per connection.

Two uvicorn factories for `idle_subscribers.py --floor`, each a websocket at `/graphql` that
the bench's clients open exactly as Threadline's (graphql-transport-ws, `connection_init`):

- `create_websocket_app`: Starlette's websocket alone, answering `connection_init` with
  `connection_ack`, then only reading: the connection, and nothing on top.
- `create_strawberry_app`: FastAPI and Strawberry's GraphQLRouter, as Threadline serves, with a
  subscription that yields once (so the client sees it live) and then waits forever: one
  GraphQL subscription per connection, and nothing of Threadline's.
"""

import asyncio
import json
from collections.abc import AsyncGenerator

import strawberry
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.fastapi import GraphQLRouter

TRANSPORT_WS = "graphql-transport-ws"
FLOOR_SUBSCRIPTION = "subscription($id: ID!) { idle(threadId: $id) }"


async def _idle_websocket(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=TRANSPORT_WS)
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            if message.get("type") == "connection_init":
                await websocket.send_text(json.dumps({"type": "connection_ack"}))
    except WebSocketDisconnect:
        pass


def create_websocket_app() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/graphql", _idle_websocket)])


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def idle(self, thread_id: strawberry.ID) -> AsyncGenerator[int, None]:
        yield 0  # live
        await asyncio.Event().wait()
        yield 1  # never


def create_strawberry_app() -> FastAPI:
    app = FastAPI()
    schema = strawberry.Schema(query=Query, subscription=Subscription)
    app.include_router(GraphQLRouter(schema), prefix="/graphql")
    return app
