"""The `threadline` command: serve, run workers, print the schema, or import OpenAI data."""

import argparse
import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import uvicorn

from app.settings import Settings
from engine import models_file
from engine.models_file import ModelsFileError

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger(__name__)


def server_processes(settings: Settings) -> int:
    """THREADLINE_PROCESSES, or one per core this process may run on."""
    return settings.processes or len(os.sched_getaffinity(0))


def _serve(settings: Settings) -> None:
    from app.embedded_db import DatabaseInUse, EmbeddedDatabase
    from app.logging import configure_logging

    configure_logging(settings.log_level, settings.log_levels)
    processes = server_processes(settings)
    embedded = EmbeddedDatabase(settings.data_dir.resolve(), owner=settings.address)
    if settings.mongodb_uri is None:
        # Claimed here, not in the lifespan, which uvicorn would report as a traceback.
        try:
            embedded.claim()
        except DatabaseInUse as error:
            log.error(
                "threadline_already_running",
                pid=error.pid,
                address=error.address,
                state_dir=str(settings.state_dir),
                hint="stop that server first, or give this one another THREADLINE_STATE_DIR",
            )
            sys.exit(2)
    if processes == 1:
        from app.main import create_app

        app = create_app(settings, embedded=embedded)
        _say_where(settings, processes)
        _exit_zero_after_shutdown()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            ws_per_message_deflate=settings.ws_per_message_deflate,
            ws_ping_interval=settings.ws_ping_seconds or None,
        )
        return
    if settings.models is not None:
        models_file.load(settings.models)  # a bad file told once, here, not by each process
    try:
        if settings.mongodb_uri is None:
            # Started here, so that it outlives any one server process; they get its address.
            uri = os.environ["THREADLINE_MONGODB_URI"] = embedded.start()
            settings = settings.model_copy(update={"mongodb_uri": uri})
        # First-start work (keys, indexes, migrations) done once, before any process races it.
        asyncio.run(_prepare(settings))
        _count_metrics_across(settings.state_dir / "metrics")
        os.environ[SUPERVISOR_PID] = str(os.getpid())  # for server_process_app's check
        _say_where(settings, processes)
        uvicorn.run(
            "app.cli:server_process_app",
            factory=True,
            workers=processes,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            ws_per_message_deflate=settings.ws_per_message_deflate,
            ws_ping_interval=settings.ws_ping_seconds or None,
        )
    finally:
        embedded.stop()  # nothing to do unless it was started


def _say_where(settings: Settings, processes: int) -> None:
    """uvicorn's own lines are off (warning level): this one says where to go."""
    log.info(
        "threadline_serving",
        graphql=settings.address,
        processes=processes,
        hint="GraphiQL at that address in a browser; Ctrl-C stops",
    )


def _exit_zero_after_shutdown() -> None:
    """uvicorn, once it has shut down in order, raises the signal that stopped it again, for
    the handler it found: this one, which ends the process with 0 rather than as killed by
    the signal (`make run` then reported `make: *** … Terminated`)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))


def _count_metrics_across(folder: Path) -> None:
    """prometheus-client's multiprocess mode for the processes about to start (app/metrics.py):
    their samples go to files in `folder`, emptied first (a previous run's would add up)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


SUPERVISOR_PID = "THREADLINE_SUPERVISOR_PID"


def server_process_app() -> "FastAPI":
    """The app of one of `threadline run`'s processes. They end with the process that started
    them: on its SIGTERM or SIGINT by uvicorn's orderly shutdown; if it is killed, killed with
    it, as one process would be (the embedded database it started is gone too, and another
    worker takes their runs over when the leases lapse)."""
    from app.main import create_app
    from app.processes import die_with_parent

    die_with_parent(signal.SIGKILL)
    # Its parent by the pid it had when it started the processes: one that died while this
    # process was still importing (before the request above) is not its parent any more.
    if str(os.getppid()) != os.environ.get(SUPERVISOR_PID, str(os.getppid())):
        sys.exit(1)
    return create_app()


async def _prepare(settings: Settings) -> None:
    from app.keys import admin_key, ensure_dev_key, token_secret
    from models.database import Database

    assert settings.mongodb_uri is not None
    database = Database(settings.mongodb_uri, settings.database_name)
    await database.connect(settings.run_lease_seconds)
    try:
        admin_key(settings)
        token_secret(settings)
        await ensure_dev_key(settings)
    finally:
        await database.close()


def _work(settings: Settings) -> None:
    from app.worker import run_workers

    asyncio.run(run_workers(settings))


def _export_schema() -> None:
    from schema.schema import schema

    print(schema.as_str())  # noqa: T201 - the command's output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="threadline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the GraphQL API on THREADLINE_HOST:THREADLINE_PORT")
    commands.add_parser(
        "worker", help="execute runs (THREADLINE_WORKERS at once) against THREADLINE_MONGODB_URI"
    )
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    importing = commands.add_parser(
        "import-openai",
        help="import OpenAI assistants, threads and messages, keeping their ids (admin key: "
        "THREADLINE_ADMIN_KEY or THREADLINE_STATE_DIR/admin-key)",
    )
    importing.add_argument("--url", required=True, help="the server, e.g. http://host:8000")
    importing.add_argument("--project", required=True, help="the project to import into: proj_…")
    importing.add_argument(
        "export", type=Path, help='JSON: {"assistants": …, "threads": …, "messages": …}'
    )
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "run":
            _serve(Settings())
        elif arguments.command == "worker":
            _work(Settings())
        elif arguments.command == "import-openai":
            from app.import_client import import_openai

            import_openai(Settings(), arguments.url, arguments.project, arguments.export)
        else:
            _export_schema()
    except ModelsFileError as error:
        raise SystemExit(f"threadline: THREADLINE_MODELS: {error}") from None


if __name__ == "__main__":
    main()
