"""Websocket handlers that keep checking the key: a revoked key's connection is closed (4403),
and so is a client token's when it expires.

Both protocols authenticate in `connection_init` (the router's `on_ws_connect`). After that,
each new operation re-checks the key in the database, and results being streamed re-check it
at most every `ws_auth_recheck_seconds`: so subscriptions added later are covered as they are.
A client token's expiry is known in advance: the connection is closed at that moment, even
while nothing is being streamed.
"""

import asyncio
import contextlib
import time
from typing import Any

import structlog
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from models.errors import Unauthenticated

log = structlog.get_logger()

FORBIDDEN = 4403
STARTS = {"subscribe", "start"}  # a new operation, in either protocol
RESULTS = {"next", "data"}


class KeyChecks:
    """Mixed into both protocols' handlers (which share these attribute and method names)."""

    context: Any
    websocket: Any
    connection_acknowledged: bool
    closed_for_auth = False
    expiry: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            if self.expiry is not None:
                self.expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.expiry

    async def handle_message(self, message: Any) -> None:
        starts = self.connection_acknowledged and message.get("type") in STARTS
        if starts and not await self.key_still_valid(0):
            return
        await super().handle_message(message)  # type: ignore[misc]
        if self.connection_acknowledged and self.expiry is None:
            principal = self.context.principal
            if principal is not None and principal.expires_at is not None:
                self.expiry = asyncio.create_task(self.close_at(principal.expires_at))

    async def close_at(self, expires_at: float) -> None:
        while time.time() < expires_at:  # the event loop's clock is not the wall clock
            await asyncio.sleep(max(0.01, expires_at - time.time()))
        with contextlib.suppress(Exception):  # the client may have gone meanwhile
            await self.key_still_valid(0)

    async def send_message(self, message: Any) -> None:
        if self.closed_for_auth:
            return
        if message.get("type") in RESULTS:
            every = self.context.settings.ws_auth_recheck_seconds
            if not await self.key_still_valid(every):
                return
        await super().send_message(message)  # type: ignore[misc]

    async def key_still_valid(self, at_most_every: float) -> bool:
        try:
            await self.context.ensure_still_authorized(at_most_every)
        except Unauthenticated:
            await self.close_forbidden()
            return False
        return True

    async def close_forbidden(self) -> None:
        if not self.closed_for_auth:
            self.closed_for_auth = True
            log.info("websocket_closed_key_invalid")
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden")


class TransportWSHandler(KeyChecks, BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws: Strawberry itself closes a rejected connection_init with 4403."""


class LegacyWSHandler(KeyChecks, BaseGraphQLWSHandler[Any, Any]):
    """graphql-ws: Strawberry would close a rejected connection_init with 1011; 4403 here too."""

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload")
        self.context.connection_params = payload if isinstance(payload, dict) else None
        try:
            await self.context.authenticate_connection()
        except Unauthenticated as error:
            await super().send_message(
                {"type": "connection_error", "payload": {"message": error.message}}
            )
            await self.close_forbidden()
            return
        await super().handle_connection_init(message)
