"""Real servers for the tests that need one: waiting for a process, or uvicorn in-process."""

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import uvicorn
from starlette.applications import Starlette

from app.processes import free_port


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 60
) -> None:
    """Returns once GET `url` answers 200; fails at once if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}\n{_read(log)}"
        try:
            if httpx.get(url, headers={"Accept": "text/html"}).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s\n{_read(log)}")


def _read(log: Path | None) -> str:
    return log.read_text() if log else ""


class InProcessServer:
    """An app already started (its lifespan run elsewhere) served by uvicorn in this loop."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def __aenter__(self) -> Self:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self.task.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


async def until(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10, every: float = 0.02
) -> None:
    """Waits for `condition` (a plain or an async check) to hold, failing after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = condition()
        if held if isinstance(held, bool) else await held:
            return
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(every)
