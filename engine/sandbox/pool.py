"""A worker process's sandbox sessions, one per thread: kept between calls, closed after
`idle_seconds` without one, and at most `max_sessions` at once (the one idle longest is
closed first to make room)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import structlog

from engine.sandbox.jail import Jail
from engine.sandbox.session import Session

log = structlog.get_logger(__name__)


class SandboxPool:
    def __init__(self, jail: Jail, max_sessions: int, idle_seconds: float) -> None:
        self.jail = jail
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, Session] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._room = asyncio.Condition()

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for session in list(self.sessions.values()):
            await session.close()
        self.sessions.clear()

    @contextlib.asynccontextmanager
    async def session(self, key: str) -> AsyncIterator[Session]:
        """The thread's session, started if it has none (or its last one died), held for
        this call alone. Raises Unavailable when no sandbox can be made."""
        session = self.sessions.get(key)
        if session is None or not session.alive:
            if session is not None:
                await session.close()
            session = await self._new(key)
        async with session.lock:
            try:
                yield session
            finally:
                session.last_used = time.monotonic()
                if not session.alive:
                    self._forget(session)
                async with self._room:
                    self._room.notify_all()

    async def _new(self, key: str) -> Session:
        self.sessions.pop(key, None)
        async with self._room:
            while len(self.sessions) >= self.max_sessions:
                idle = [s for s in self.sessions.values() if not s.lock.locked()]
                if idle:
                    oldest = min(idle, key=lambda s: s.last_used)
                    self._forget(oldest)
                    await oldest.close()
                    log.info("sandbox_session_evicted", key=oldest.key)
                else:
                    await self._room.wait()  # every session is running a call
        session = Session(self.jail, key)
        self.sessions[key] = session
        try:
            await session.start()
        except BaseException:
            self._forget(session)
            raise
        return session

    async def discard(self, key: str) -> None:
        """Closes the key's session (one that broke): the next call gets a new one."""
        session = self.sessions.pop(key, None)
        if session is not None:
            await session.close()

    def _forget(self, session: Session) -> None:
        if self.sessions.get(session.key) is session:
            del self.sessions[session.key]

    async def sweep(self) -> None:
        """Closes sessions idle for longer than idle_seconds."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if not session.lock.locked() and now - session.last_used > self.idle_seconds:
                self._forget(session)
                await session.close()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self.idle_seconds / 2, 5.0))
            try:
                await self.sweep()
            except Exception:
                log.exception("sandbox_sweep_failed")
