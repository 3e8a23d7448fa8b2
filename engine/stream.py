"""A model's deltas, read in a task of their own, so that a run waits for the next delta, its
flush deadline and its stop signal at once. Stopping closes the model's stream (its HTTP
connection) and never interrupts one of the run's writes."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import TracebackType

from engine.providers.base import ProviderEvent
from engine.stop import Stop


class End:
    """The model finished its answer."""


END = End()
# Deltas read ahead of the run's writes; past this the model's stream waits.
READ_AHEAD = 1024


class ModelStream:
    def __init__(self, deltas: AsyncGenerator[ProviderEvent, None], stop: Stop) -> None:
        self._deltas = deltas
        self._stop = stop
        self._queue: asyncio.Queue[ProviderEvent | End | BaseException] = asyncio.Queue(READ_AHEAD)
        self._reader: asyncio.Task[None] | None = None
        self._next: asyncio.Task[ProviderEvent | End | BaseException] | None = None
        self._stopped: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "ModelStream":
        self._reader = asyncio.create_task(self._read())
        self._stopped = asyncio.create_task(self._stop.wait())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for task in (self._next, self._stopped, self._reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _read(self) -> None:
        try:
            async with aclosing(self._deltas):
                async for delta in self._deltas:
                    await self._queue.put(delta)
            await self._queue.put(END)
        except Exception as error:  # the provider's failure, raised to the run by next()
            await self._queue.put(error)

    async def next(self, timeout: float | None) -> ProviderEvent | End | None:
        """The next delta, END, or None when `timeout` passed first. Raises Stopped when the
        stop signal is set, and the provider's error when it failed."""
        self._stop.check()
        if self._next is None:
            self._next = asyncio.create_task(self._queue.get())
        assert self._stopped is not None
        await asyncio.wait(
            {self._next, self._stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        self._stop.check()
        if not self._next.done():
            return None
        item = self._next.result()
        self._next = None
        if isinstance(item, BaseException):
            raise item
        return item
