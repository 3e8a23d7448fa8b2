"""The one signal that stops a run's executor, whoever raises it.

`cancelRun` (seen by the heartbeat or refused write: "cancel"), a lost lease ("lost") and a
shutdown past its drain time ("shutdown") all set it. It interrupts the wait for the model's
next delta, never a write: what a run wrote and what its subscribers were told stay one."""

import asyncio
from typing import Literal

StopReason = Literal["cancel", "lost", "shutdown"]


class Stopped(Exception):
    """Raised where the executor notices the signal; it winds the run down by `reason`."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason


class Stop:
    def __init__(self) -> None:
        self.reason: StopReason | None = None
        self._event = asyncio.Event()

    def set(self, reason: StopReason) -> None:
        if self.reason is None:  # the first reason wins
            self.reason = reason
            self._event.set()

    def check(self) -> None:
        if self.reason is not None:
            raise Stopped(self.reason)

    async def wait(self) -> None:
        await self._event.wait()
