"""The engine as the app holds it: services, workers and the event bus, started and stopped
by the lifespan."""

from app.settings import Settings
from engine.bus import EventBus
from engine.catalog import Catalog
from engine.executor import Executor
from engine.files.embeddings import Embedder
from engine.files.ingestion import IngestionPool
from engine.files.search import Searcher
from engine.runs import RunService
from engine.sandbox.jail import Jail, Limits
from engine.sandbox.pool import SandboxPool
from engine.sandbox.tool import CodeRunner
from engine.worker import WorkerPool


class Engine:
    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.catalog = Catalog.from_settings(settings)
        # Unset (no THREADLINE_EMBEDDINGS_MODEL): file search is lexical only.
        self.embedder = Embedder.from_settings(settings)
        self.searcher = Searcher(self.embedder)
        self.sandboxes = SandboxPool(
            Jail(settings.sandbox_python, _limits(settings)),
            settings.sandbox_sessions,
            settings.sandbox_idle_seconds,
        )
        self.workers = WorkerPool(
            Executor(self.catalog, self.searcher, CodeRunner(self.sandboxes)),
            settings.workers if workers is None else workers,
            settings.run_lease_seconds,
        )
        # One ingestion at a time per process with workers: extraction is CPU-bound.
        self.ingestion = IngestionPool(
            min(1, self.workers.concurrency), settings.run_lease_seconds, self.embedder
        )
        self.drain_seconds = settings.drain_seconds
        self.bus = EventBus()
        self.runs = RunService(
            catalog=self.catalog,
            expires_seconds=settings.run_expires_seconds,
            notify=self.workers.wake,
        )

    def start(self) -> None:
        self.workers.start()
        self.ingestion.start()
        self.sandboxes.start()

    async def stop(self) -> None:
        await self.ingestion.stop()
        await self.workers.stop(self.drain_seconds)
        await self.sandboxes.stop()
        await self.bus.close()
        await self.catalog.aclose()
        if self.embedder is not None:
            await self.embedder.aclose()


def _limits(settings: Settings) -> Limits:
    return Limits(
        cpu_seconds=settings.sandbox_cpu_seconds,
        wall_seconds=settings.sandbox_wall_seconds,
        memory_bytes=settings.sandbox_memory_bytes,
        processes=settings.sandbox_processes,
        output_bytes=settings.sandbox_output_bytes,
        disk_bytes=settings.sandbox_disk_bytes,
    )
