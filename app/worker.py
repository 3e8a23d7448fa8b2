"""`threadline worker`: executes runs in a process of its own, until SIGTERM or SIGINT."""

import asyncio
import signal
import sys

import structlog

from app.logging import configure_logging
from app.settings import Settings
from engine.engine import Engine
from models.database import Database

log = structlog.get_logger()


async def run_workers(settings: Settings) -> None:
    configure_logging(settings.log_level)
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
    database = Database(settings.mongodb_uri, settings.database_name)
    await database.connect(settings.run_lease_seconds)
    engine = Engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine.start()
    try:
        await stop.wait()
        log.info("worker_stopping", running=len(engine.workers.running))
    finally:
        await engine.stop()
        await database.close()
