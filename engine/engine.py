"""The engine as the app holds it: services, workers and the event bus, started and stopped
by the lifespan."""

from app.settings import Settings
from engine.bus import EventBus
from engine.catalog import Catalog
from engine.executor import Executor
from engine.runs import RunService
from engine.worker import WorkerPool


class Engine:
    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        catalog = Catalog(settings.openai_base_url, api_key, settings.model_context_tokens)
        self.workers = WorkerPool(
            Executor(catalog),
            settings.workers if workers is None else workers,
            settings.run_lease_seconds,
        )
        self.drain_seconds = settings.drain_seconds
        self.bus = EventBus()
        self.runs = RunService(
            endpoint_configured=settings.openai_base_url is not None,
            expires_seconds=settings.run_expires_seconds,
            notify=self.workers.wake,
        )

    def start(self) -> None:
        self.workers.start()

    async def stop(self) -> None:
        await self.workers.stop(self.drain_seconds)
        await self.bus.close()
