"""A websocket subscription's events sent straight to its connection.

Strawberry sends each event through graphql-core's response stream, every extension's hooks
and its protocol handler: about 200 µs per subscriber and event, which a thousand subscribers
to one thread pay one after another (bench/event_latency.py). Here the subscription's resolver
executes the event itself, with the subscription's own executor (so the answer is the one
Strawberry would send, shared between subscribers as schema/execution.py decides), and hands
the result to its connection, which still checks the key and bounds the send
(app/websockets.py). An answer with errors goes Strawberry's way, to be coded and masked.

The pieces meet in a context variable: the websocket handler sets it as an operation starts,
and the operation's task (made right after) carries it into the executor Strawberry builds,
the extensions that run, and the resolver."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any

from app.recent import Recent

TEXTS_KEPT = 64  # answers' texts kept: an event's subscribers all ask for its text in a row


@dataclass
class LiveOperation:
    """One websocket operation: where its results go, and what they are made with."""

    send_text: Callable[[str], Awaitable[None]]  # a result message, to the connection
    result_type: str  # the protocol's name for a result message
    operation_id: object  # the client's, as its messages carry it
    # A result message sent without waiting, when the connection can (False: it cannot).
    send_now: Callable[[str], bool] | None = None
    executor: Any = None  # the subscription's (schema/execution.py), once it is built
    extensions: dict[str, Any] | None = None  # what every answer's `extensions` carries
    _ends: tuple[str, str] | None = field(default=None, repr=False)

    async def deliver(self, event: object) -> bool:
        """Sends the event's answer; False when it is to be yielded (Strawberry's way)."""
        if self.executor is None:
            return False
        result = self.executor.answer(event)
        if isawaitable(result):
            result = await result
        if result.errors:
            return False
        await self.send_text(self.message(answer_text(result)))
        return True

    def deliver_now(self, event: object) -> bool:
        """Sends the event's answer without waiting for anything (engine/follow.py's `push`):
        False, having sent nothing, when that cannot be done (no executor yet, an answer still
        being made or with errors, a connection that has to wait) and `deliver` is to."""
        if self.executor is None or self.send_now is None:
            return False
        result = self.executor.answer(event)
        if isawaitable(result):  # shared, and still being made: taken when done, by `deliver`
            if not isinstance(result, asyncio.Future) or not result.done():
                return False
            if result.cancelled() or result.exception() is not None:
                return False
            result = result.result()
        if result.errors:
            return False
        return self.send_now(self.message(answer_text(result)))

    def message(self, data_text: str) -> str:
        """The protocol's result message around an answer's data, as JSON text."""
        if self._ends is None:  # the extensions are known by the first result
            head = _json({"type": self.result_type, "id": self.operation_id})
            tail = f',"extensions":{_json(self.extensions)}' if self.extensions else ""
            self._ends = (f'{head[:-1]},"payload":{{"data":', f"{tail}}}}}")
        return f"{self._ends[0]}{data_text}{self._ends[1]}"


_texts: Recent[int, tuple[object, str]] = Recent(size=TEXTS_KEPT, seconds=10)


def answer_text(result: Any) -> str:
    """The answer's data as JSON text, made once for all the subscribers it is shared by."""
    known = _texts.get(id(result))
    if known is None or known[0] is not result:
        known = _texts.put(id(result), (result, _json(result.data)))
    return known[1]


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


CURRENT: ContextVar[LiveOperation | None] = ContextVar("live_operation", default=None)


async def deliver(event: object) -> bool:
    """The event sent to this task's websocket operation, if it has one (HTTP has none)."""
    live = CURRENT.get()
    return live is not None and await live.deliver(event)
