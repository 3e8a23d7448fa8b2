"""The `threadline` command: serve, run workers, print the schema, or import OpenAI data."""

import argparse
import asyncio
import sys
from pathlib import Path

import structlog
import uvicorn

from app.settings import Settings
from engine.models_file import ModelsFileError

log = structlog.get_logger()


def _serve(settings: Settings) -> None:
    from app.embedded_db import DatabaseInUse, EmbeddedDatabase
    from app.main import create_app

    app = create_app(settings)
    if settings.mongodb_uri is None:
        embedded: EmbeddedDatabase = app.state.embedded
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
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


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
