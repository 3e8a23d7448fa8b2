"""What observability costs a request: Threadline serving assistant lookups (GraphQL
`assistant(id:)` and REST `GET /v1/assistants/{id}`) with tracing on, against the same server
with tracing off, side by side on one database, the order rotated each round.

Tracing on: OTEL_EXPORTER_OTLP_ENDPOINT points at a sink (this module's `create_sink`, its own
uvicorn process) that takes every OTLP/HTTP export and answers as a collector would. Two traced
servers: one keeps every trace (the SDK's default), one a tenth of them
(`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`). Metrics and
the request log are always on. With
`--baseline DIR` (a checkout from before them, e.g. `git worktree add /work/wt-base 28660a5`),
a third server from that checkout serves the same lookups: everything on against everything
off, in one run.

    .venv/bin/python bench/observability.py [--requests N] [--rounds R] [--concurrency C]
        [--quick] [--baseline DIR]
"""

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from assistant_lookup import (
    Server,
    Target,
    create_assistant,
    get_sender,
    graphql_sender,
    http_client,
    load_arguments,
    measure,
    run_with_database,
    start_uvicorn,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port

DATABASE_NAME = "threadline_bench"


def create_sink() -> Starlette:
    """An OTLP/HTTP endpoint that reads each export and keeps nothing: an empty
    ExportTraceServiceResponse is an empty protobuf message."""

    async def traces(request: Request) -> Response:
        await request.body()
        return Response(b"", media_type="application/x-protobuf")

    return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


def answers(client: httpx.AsyncClient) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        response = await client.post("/graphql", json={"query": "{ __typename }"})
        return response.status_code == 200

    return probe


def server_environment(uri: str, state: Path) -> dict[str, str]:
    return {
        "THREADLINE_MONGODB_URI": uri,
        "THREADLINE_DATABASE_NAME": DATABASE_NAME,
        "THREADLINE_STATE_DIR": str(state),
        "THREADLINE_RATE_LIMIT": "",  # the load would pass any per-key limit
        "THREADLINE_MAX_CONCURRENT_PER_KEY": "0",
        # The request log's line per request is written, as in production (to /dev/null here).
        "THREADLINE_LOG_LEVEL": "INFO",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }


async def bench(
    arguments: argparse.Namespace, uri: str, state: Path, servers: list[Server]
) -> None:
    concurrency: int = arguments.concurrency
    sink = start_uvicorn("observability:create_sink", free_port(), {}, app_dir="bench")
    servers.append(sink)
    tracing_on = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.base_url}
    # Every trace kept, and one in ten (the SDK's ratio sampler: the rest are not recorded).
    one_in_ten = {
        **tracing_on,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    sides = {"off": ({}, "."), "on": (tracing_on, "."), "tenth": (one_in_ten, ".")}
    if arguments.baseline is not None:
        sides["baseline"] = ({}, str(arguments.baseline.resolve()))
    targets: list[Target] = []
    assistant_id = ""
    for side, (extra, app_dir) in sides.items():
        # One after the other: the first start writes the keys the others read.
        server = start_uvicorn(
            "app.main:create_app",
            free_port(),
            {**server_environment(uri, state), **extra},
            app_dir=app_dir,
            quiet=True,
        )
        servers.append(server)
        client = http_client(server.base_url, concurrency)
        await server.wait_until_ready(answers(client))
        client.headers["authorization"] = f"Bearer {read_secret(state / DEV_KEY_FILE)}"
        if not assistant_id:
            assistant_id = await create_assistant(client)
        pid = server.process.pid
        rest = get_sender(f"/v1/assistants/{assistant_id}", "REST")
        targets.append(Target(f"graphql-{side}", client, graphql_sender(assistant_id), pid))
        targets.append(Target(f"rest-{side}", client, rest, pid))
    ratios: tuple[tuple[str, str], ...] = (
        ("graphql-on", "graphql-off"),
        ("rest-on", "rest-off"),
        ("graphql-tenth", "graphql-off"),
        ("rest-tenth", "rest-off"),
    )
    if arguments.baseline is not None:
        ratios += (
            ("graphql-off", "graphql-baseline"),  # metrics and the request log
            ("rest-off", "rest-baseline"),
            ("graphql-on", "graphql-baseline"),  # all of it
            ("rest-on", "rest-baseline"),
        )
    try:
        await measure(arguments, targets, ratios)
    finally:
        for target in targets:
            await target.client.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Tracing on against off: assistant lookups/s.")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout without metrics, logs and tracing, served too"
    )
    arguments = load_arguments(parser, argv)
    run_with_database(lambda uri, state, servers: bench(arguments, uri, state, servers))


if __name__ == "__main__":
    main()
