"""`threadline worker`: executes runs in a process of its own, until SIGTERM or SIGINT.
With THREADLINE_WORKER_HEALTH_PORT, it also serves /healthz, /readyz and /metrics there."""

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import structlog
import uvicorn
from fastapi import FastAPI

from app import tracing
from app.auth import Authenticator
from app.client_tokens import ClientTokens
from app.health import router as health_router
from app.keys import admin_key, token_secret
from app.logging import configure_logging
from app.metrics import router as metrics_router
from app.settings import Settings
from engine.engine import Engine
from models.database import Database

log = structlog.get_logger(__name__)


async def run_workers(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_levels)
    if settings.mongodb_uri is None:
        log.error("worker_needs_database", hint="set THREADLINE_MONGODB_URI")
        sys.exit(2)
    if settings.workers < 1:
        # It would claim no run at all, yet look like it is working.
        log.error(
            "worker_needs_workers",
            workers=settings.workers,
            hint="set THREADLINE_WORKERS to 1 or more",
        )
        sys.exit(2)
    tracing.start("worker")  # before the database's and the models' clients are made
    database = Database(settings.mongodb_uri, settings.database_name)
    await database.connect(settings.run_lease_seconds)
    engine = Engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine.start()
    probes = _probes(settings, database)
    serving = asyncio.create_task(probes.serve()) if probes is not None else None
    try:
        await stop.wait()
        log.info("worker_stopping", running=len(engine.workers.running))
    finally:
        if probes is not None and serving is not None:
            probes.should_exit = True
            await serving
        await engine.stop()
        await database.close()
        tracing.flush()


class _ProbeServer(uvicorn.Server):
    """uvicorn for the worker's probes: the worker handles the signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _probes(settings: Settings, database: Database) -> uvicorn.Server | None:
    port = settings.worker_health_port
    if port is None:
        return None
    app = FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, telemetry=tracing.fastapi_telemetry()
    )
    app.state.settings = settings
    app.state.database = database
    if settings.production:  # /metrics asks for the admin key there, as the servers do
        app.state.authenticator = Authenticator(
            admin_key(settings), ClientTokens(token_secret(settings))
        )
    app.include_router(health_router)
    app.include_router(metrics_router)
    config = uvicorn.Config(app, host=settings.host, port=port, log_level="warning")
    log.info("worker_probes", address=f"http://{settings.host}:{port}")
    return _ProbeServer(config)
