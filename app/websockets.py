"""Websocket handlers that keep checking the key: a revoked key's connection is closed (4403),
and so is a client token's when it expires. They also close, with a code and a reason naming the
limit, a connection that goes past one of the websocket limits (see CLOSE_CODES).

Both protocols authenticate in `connection_init` (the router's `on_ws_connect`). After that,
each new operation re-checks the key in the database, and results being streamed re-check it
at most every `ws_auth_recheck_seconds` (one read per key and period, shared by all the key's
connections): so subscriptions added later are covered as they are.
A client token's expiry is known in advance: the connection is closed at that moment, even
while nothing is being streamed.
"""

import asyncio
import contextlib
import functools
import time
import types
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import structlog
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from app import live, metrics
from models.errors import RateLimited, Unauthenticated

log = structlog.get_logger(__name__)

# graphql-transport-ws's own 44xx codes (HTTP's statuses + 4000), for every limit.
FORBIDDEN = 4403  # a bad, revoked or expired key
# No connection_init within THREADLINE_WS_CONNECTION_INIT_TIMEOUT_SECONDS, or a client that left
# a result unread for THREADLINE_WS_SEND_TIMEOUT_SECONDS: the client took too long either way.
TOO_SLOW = 4408
# 4413: a message over THREADLINE_WS_MAX_MESSAGE_BYTES (closed by app/ws_size.py)
TOO_MANY = 4429  # connections per key, operations per connection, failed authentications
STARTS = {"subscribe", "start"}  # a new operation, in either protocol
RESULTS = {"next", "data"}
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's reason, after its 2-byte code


def forbidden(error: Unauthenticated) -> str:
    """A 4403's close reason: what was wrong with the key (a reason is at most 123 bytes)."""
    reason = f"Forbidden: {error.message}"
    return reason if len(reason.encode()) <= MAX_REASON_BYTES else "Forbidden"


# Every open connection's handler, for closing them all when the server stops.
_open: "weakref.WeakSet[KeyChecks]" = weakref.WeakSet()
GOING_AWAY = 1001
SHUTTING_DOWN = "The server is shutting down: reconnect"


def close_all() -> list[asyncio.Task[None]]:
    """Closes every open websocket with 1001 (going away), so that clients reconnect at once,
    to another server behind the load balancer (uvicorn's own shutdown would say 1012): a
    task each, all begun together. Each writes its close frame in its first step; the rest
    (the client's answering close) is waited for by that task alone."""
    return [
        asyncio.ensure_future(_going_away(handler))
        for handler in list(_open)
        if not handler.closed_for_auth
    ]


async def _going_away(handler: "KeyChecks") -> None:
    with contextlib.suppress(Exception):  # it may be closing already
        await handler.close_with(GOING_AWAY, SHUTTING_DOWN, "websocket_closed_shutdown")


class KeyChecks:
    """Mixed into both protocols' handlers (which share these attribute and method names)."""

    context: Any
    websocket: Any
    connection_acknowledged: bool
    closed_for_auth = False
    expiry: asyncio.Task[None] | None = None
    connection_key: str | None = None  # the caller holding one of its connection slots
    sending: asyncio.Task[None] | None = None  # the end of a send begun by send_result_now

    result_type: str  # the protocol's name for a result message
    protocol: str  # the subprotocol's name, for the log

    def open_operations(self) -> set[str]:
        raise NotImplementedError

    async def handle(self) -> None:
        _open.add(self)
        started = time.monotonic()
        log.info("websocket_opened", address=self.context.address, protocol=self.protocol)
        try:
            with metrics.held(metrics.WEBSOCKETS_OPEN):
                await super().handle()  # type: ignore[misc]
        finally:
            principal = self.context.principal
            log.info(
                "websocket_ended",
                address=self.context.address,
                project=principal.project_id if principal is not None else None,
                seconds=round(time.monotonic() - started, 1),
            )
            if self.connection_key is not None:
                self.context.fairness.connections.give_back(self.connection_key)
                self.connection_key = None
            for task in (self.expiry, self.sending):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def admit(self) -> tuple[int, str] | None:
        """`connection_init`: a valid key (and this address not refused for too many bad ones),
        and a free connection slot for its caller. Else the close code and reason."""
        try:
            await self.context.authenticate_connection()
        except Unauthenticated as error:
            return FORBIDDEN, forbidden(error)
        except RateLimited:
            return TOO_MANY, "Too many failed authentications from this address"
        fairness = self.context.fairness
        if fairness is not None:
            key = self.context.principal.rate_key
            try:
                fairness.connections.take(key)
            except RateLimited:
                return TOO_MANY, (
                    "Too many connections for this key (THREADLINE_WS_MAX_CONNECTIONS_PER_KEY)"
                )
            self.connection_key = key
        return None

    async def close_with(
        self, code: int, reason: str, event: str = "websocket_closed_limit"
    ) -> None:
        log.info(event, code=code, reason=reason)
        self.closed_for_auth = True  # nothing more is sent
        await self.websocket.close(code=code, reason=reason)

    async def handle_message(self, message: Any) -> None:
        starts = self.connection_acknowledged and message.get("type") in STARTS
        # As an HTTP request's: a revocation through this process counts at once, one
        # elsewhere within THREADLINE_WS_AUTH_RECHECK_SECONDS (one read for a key's many starts).
        every = self.context.settings.ws_auth_recheck_seconds
        if starts and not await self.key_still_valid(every, this_connection=False):
            return
        if starts and await self.too_many_operations(message):
            return
        if starts:
            # The operation's task, made by Strawberry next, takes it along (app/live.py).
            operation = live.LiveOperation(
                self.send_result_text, self.result_type, message.get("id"), self.send_result_now
            )
            live.CURRENT.set(operation)
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

    async def too_many_operations(self, message: Any) -> bool:
        """Past THREADLINE_WS_MAX_OPERATIONS (queries and subscriptions open at once on this
        connection) the connection closes: Strawberry would only answer that one operation."""
        open_now = self.open_operations()
        limit: int = self.context.settings.ws_max_operations
        if message.get("id") in open_now or len(open_now) < limit:
            return False
        await self.close_with(
            TOO_MANY, "Too many operations on this connection (THREADLINE_WS_MAX_OPERATIONS)"
        )
        return True

    async def send_message(self, message: Any) -> None:
        if self.closed_for_auth:
            return
        if message.get("type") not in RESULTS:
            await super().send_message(message)  # type: ignore[misc]
            return
        await self._send_result(functools.partial(super().send_message, message))  # type: ignore[misc]

    async def send_result_text(self, text: str) -> None:
        """A result message already made (app/live.py)."""
        if not self.closed_for_auth:
            await self._send_result(functools.partial(self.websocket.ws.send_text, text))

    def send_result_now(self, text: str) -> bool:
        """A result message sent without waiting (app/live.py), or False, having sent nothing:
        the key is due a check, or a send is under way. The send is begun here: when the
        client's buffers are full it waits, and its end is a task of its own (`sending`),
        which every later result waits for."""
        if self.closed_for_auth:
            return True  # nothing more is sent (send_result_text drops it too)
        every = self.context.settings.ws_auth_recheck_seconds
        if self.sending is not None or not self.context.checked_within(every):
            return False
        send = self.websocket.ws.send_text(text)
        try:
            waits_for = send.send(None)
        except StopIteration:
            return True
        except Exception:  # e.g. the client has gone: the waiting way sends it and says so
            return False
        self.sending = asyncio.create_task(self._end_of_send(resumed(send, waits_for)))
        return True

    async def _end_of_send(self, send: Awaitable[None]) -> None:
        try:
            await self._bounded(send)
        except WebSocketDisconnected:
            pass  # the connection's end says so
        except Exception:  # the connection's own results say nothing of it: the log does
            log.exception("websocket_send_failed")
        finally:
            self.sending = None

    async def _send_result(self, send: Callable[[], Awaitable[None]]) -> None:
        every = self.context.settings.ws_auth_recheck_seconds
        if not await self.key_still_valid(every):
            return
        await self._bounded(self._after_sending(send))

    async def _after_sending(self, send: Callable[[], Awaitable[None]]) -> None:
        if self.sending is not None:  # its end, however it ends (and not cancelled with this)
            await asyncio.wait({self.sending})
        await send()

    async def _bounded(self, send: Awaitable[None]) -> None:
        # A send waits while the client's buffers are full: one that does not read is closed,
        # rather than held (with what it has not read) for ever. Its subscriptions' feeds are
        # bounded meanwhile (engine/bus.py), and other subscribers are never waiting on it.
        seconds = self.context.settings.ws_send_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                await send
        except WebSocketDisconnect as gone:
            raise WebSocketDisconnected from gone
        except TimeoutError:
            await self.close_with(
                TOO_SLOW,
                f"Too slow: a result went unread for {seconds:g} s "
                "(THREADLINE_WS_SEND_TIMEOUT_SECONDS)",
            )

    async def key_still_valid(self, at_most_every: float, this_connection: bool = True) -> bool:
        try:
            await self.context.ensure_still_authorized(at_most_every, this_connection)
        except Unauthenticated as error:
            await self.close_forbidden(error)
            return False
        return True

    async def close_forbidden(self, error: Unauthenticated) -> None:
        if not self.closed_for_auth:
            self.closed_for_auth = True
            log.info("websocket_closed_key_invalid")
            await self.websocket.close(code=FORBIDDEN, reason=forbidden(error))


@types.coroutine
def resumed(coroutine: Coroutine[Any, Any, None], waits_for: Any) -> Generator[Any, None, None]:
    """The rest of a coroutine stepped once by hand, which yielded `waits_for` (as it would to
    its task): awaited, it goes on in the awaiting task, as if that task had run it all along."""
    while True:
        try:
            yield waits_for  # to the task, as the coroutine yielded it
        except BaseException as error:  # e.g. cancelled: it goes in, as the task would put it
            try:
                waits_for = coroutine.throw(error)
            except StopIteration:
                return
        else:
            break
    yield from coroutine


class TransportWSHandler(KeyChecks, BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws: Strawberry checks the message's shape and the connection_init
    deadline (4408); the key and the limits are checked here first."""

    result_type = "next"
    protocol = "graphql-transport-ws"

    def open_operations(self) -> set[str]:
        return set(self.operations)

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload", {})
        first = not (self.connection_init_received or self.connection_timed_out)
        if first and isinstance(payload, dict):
            self.context.connection_params = payload
            refusal = await self.admit()
            if refusal is not None:
                self.connection_init_received = True  # the deadline has nothing left to close
                if self.connection_init_timeout_task is not None:
                    self.connection_init_timeout_task.cancel()
                await self.close_with(*refusal)
                return
        await super().handle_connection_init(message)


class LegacyWSHandler(KeyChecks, BaseGraphQLWSHandler[Any, Any]):
    """graphql-ws: Strawberry would close a rejected connection_init with 1011; 4403 here too."""

    result_type = "data"
    protocol = "graphql-ws"

    def open_operations(self) -> set[str]:
        return set(self.tasks)

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload")
        self.context.connection_params = payload if isinstance(payload, dict) else None
        refusal = None if self.connection_acknowledged else await self.admit()
        if refusal is not None:
            code, reason = refusal
            await super().send_message({"type": "connection_error", "payload": {"message": reason}})
            await self.close_with(code, reason)
            return
        await super().handle_connection_init(message)

    async def handle(self) -> None:
        """graphql-ws has no connection_init deadline of its own: the same one as above."""
        deadline = asyncio.create_task(self.close_unless_initialised())
        try:
            await super().handle()
        finally:
            deadline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deadline

    async def close_unless_initialised(self) -> None:
        await asyncio.sleep(self.context.settings.ws_connection_init_timeout_seconds)
        if not self.connection_acknowledged and not self.closed_for_auth:
            with contextlib.suppress(Exception):  # the client may have gone meanwhile
                await self.close_with(TOO_SLOW, "Connection initialisation timeout")
