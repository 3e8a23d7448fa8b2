"""What authentication and request limits add per request: the same `assistant(id:)` query
against the same Threadline app, guarded (Bearer key checked in the database, rate limit
counted, depth/alias/token limits, timeout, body cap) and unguarded (`create_app(guarded=
False)`: every request is the default project's, no limit), side by side.

Both run as real one-worker uvicorn servers on one in-memory embedded database; one load
generator alternates rounds between them (A B, then B A), as bench/assistant_lookup.py does.

    .venv/bin/python bench/auth_overhead.py [--requests N] [--rounds R] [--concurrency C]
"""

# ruff: noqa: T201

import argparse
import json
import statistics
from pathlib import Path

import httpx
from assistant_lookup import (
    LOOKUP_QUERY,
    RoundResult,
    Send,
    Server,
    create_assistant,
    database_pid,
    http_client,
    run_round,
    run_with_database,
    start_uvicorn,
)
from fastapi import FastAPI

from app.keys import DEV_KEY_FILE, read_secret
from app.main import create_app
from app.processes import free_port

DATABASE_NAME = "threadline_bench_auth"


def create_unguarded_app() -> FastAPI:
    return create_app(guarded=False)


def sender(assistant_id: str, headers: dict[str, str]) -> Send:
    body = json.dumps({"query": LOOKUP_QUERY, "variables": {"id": assistant_id}}).encode()
    headers = {"content-type": "application/json", **headers}

    async def send(client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", content=body, headers=headers)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"lookup failed: {response.status_code} {response.text}")

    return send


async def ready(server: Server, client: httpx.AsyncClient) -> None:
    async def probe() -> bool:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        return page.status_code == 200

    await server.wait_until_ready(probe)


async def bench(
    arguments: argparse.Namespace, uri: str, state: Path, servers: list[Server]
) -> None:
    env = {
        "THREADLINE_MONGODB_URI": uri,
        "THREADLINE_DATABASE_NAME": DATABASE_NAME,
        "THREADLINE_STATE_DIR": str(state),
        "THREADLINE_LOG_LEVEL": "WARNING",
        # Counted on every request like any limit, but never reached by the load.
        "THREADLINE_RATE_LIMIT": "1000000/second",
        "THREADLINE_MAX_CONCURRENT_PER_KEY": "1000000",
    }
    guarded = start_uvicorn("app.main:create_app", free_port(), env)
    servers.append(guarded)
    async with http_client(guarded.base_url, arguments.concurrency) as guarded_client:
        await ready(guarded, guarded_client)
        key = {"authorization": f"Bearer {read_secret(state / DEV_KEY_FILE)}"}
        guarded_client.headers.update(key)
        assistant_id = await create_assistant(guarded_client)
        unguarded = start_uvicorn("auth_overhead:create_unguarded_app", free_port(), env, "bench")
        servers.append(unguarded)
        async with http_client(unguarded.base_url, arguments.concurrency) as unguarded_client:
            await ready(unguarded, unguarded_client)
            targets = [
                ("guarded", guarded_client, sender(assistant_id, key), guarded.process.pid),
                ("unguarded", unguarded_client, sender(assistant_id, {}), unguarded.process.pid),
            ]
            await measure(arguments, targets)


async def measure(
    arguments: argparse.Namespace, targets: list[tuple[str, httpx.AsyncClient, Send, int]]
) -> None:
    requests, concurrency = arguments.requests, arguments.concurrency
    db_pid = database_pid()
    for _, client, send, _ in targets:  # warm-up
        await run_round(client, send, max(requests // 4, concurrency), concurrency)
    results: dict[str, list[RoundResult]] = {name: [] for name, *_ in targets}
    print(f"{arguments.rounds} rounds x {requests} requests per server, {concurrency} in flight")
    print(f"{'round':>5}  {'server':<10}  {'req/s':>6}  {'p50 ms':>6}  {'server CPU ms/req':>17}")
    for number in range(1, arguments.rounds + 1):
        for name, client, send, pid in targets if number % 2 else reversed(targets):
            row = await run_round(client, send, requests, concurrency, (pid, db_pid))
            results[name].append(row)
            print(
                f"{number:>5}  {name:<10}  {row.requests_per_second:>6.0f}  "
                f"{row.p50_ms:>6.1f}  {row.server_cpu_ms:>17.2f}"
            )
    report(results["guarded"], results["unguarded"])


def report(guarded: list[RoundResult], unguarded: list[RoundResult]) -> None:
    pairs = list(zip(guarded, unguarded, strict=True))
    throughput = statistics.median(a.requests_per_second / b.requests_per_second for a, b in pairs)
    latency = statistics.median(a.p50_ms / b.p50_ms for a, b in pairs)
    cpu = statistics.median(a.server_cpu_ms / b.server_cpu_ms for a, b in pairs if b.server_cpu_ms)
    added = statistics.median(a.p50_ms - b.p50_ms for a, b in pairs)
    print(f"guarded/unguarded p50 latency: {latency:.2f}x (median added {added:+.2f} ms)")
    print(f"guarded/unguarded requests/s: {throughput:.2f}x")
    print(f"guarded/unguarded server CPU per request: {cpu:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Authentication + limits vs none, per request.")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round and server")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    arguments = parser.parse_args(argv)
    if min(arguments.requests, arguments.rounds, arguments.concurrency) < 1:
        parser.error("--requests, --rounds and --concurrency must be at least 1")
    run_with_database(lambda uri, state, servers: bench(arguments, uri, state, servers))


if __name__ == "__main__":
    main()
