"""What authenticating a request costs with a client token versus a project key, side by side in
one run: the server's own `Authenticator.authenticate` on `Bearer <token>` (HS256 signature and
claims checked, the principal built; no database) and on `Bearer <project key>` (its SHA-256
digest looked up in the `api_keys` collection of an in-memory embedded database).

Calls are made one at a time (the latency of one request's authentication), in rounds that
alternate which side goes first (A B, then B A). Per round: wall time per call, and CPU per call
counted over this process and the database process (a key lookup spends most of its CPU there).

    .venv/bin/python bench/client_tokens.py [--calls N] [--rounds R]
"""

# ruff: noqa: T201

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from assistant_lookup import Server, cpu_seconds, database_pid, run_with_database

from app.auth import Authenticator, Principal
from app.client_tokens import ClientTokens
from models import api_key
from models.database import Database
from models.project import ensure_default_project

DATABASE_NAME = "threadline_bench_tokens"
Authenticate = Callable[[], Awaitable[Principal]]


@dataclass(frozen=True)
class Row:
    wall_us: float
    cpu_us: float


async def timed(authenticate: Authenticate, calls: int, db_pid: int | None) -> Row:
    cpu_before = time.process_time() + cpu_seconds(db_pid)
    started = time.perf_counter()
    for _ in range(calls):
        await authenticate()
    wall = time.perf_counter() - started
    cpu = time.process_time() + cpu_seconds(db_pid) - cpu_before
    return Row(wall / calls * 1e6, cpu / calls * 1e6)


async def bench(
    arguments: argparse.Namespace, uri: str, _state: Path, _servers: list[Server]
) -> None:
    database = Database(uri, DATABASE_NAME)
    await database.connect()
    try:
        project = await ensure_default_project()
        # Other projects' keys, so that the digest index is not a one-entry toy.
        for _index in range(200):
            await api_key.create_api_key(f"proj_bench{_index}", None)
        _, key = await api_key.create_api_key(project.id, "bench")
        tokens = ClientTokens("bench-secret-" + "s" * 51)
        token, _expires = tokens.mint(project.id, "user-bench", [f"asst_{i:024}" for i in range(4)])
        authenticator = Authenticator("tl-admin-bench", tokens)
        sides: dict[str, Authenticate] = {
            "token": lambda: authenticator.authenticate(f"Bearer {token}"),
            "key": lambda: authenticator.authenticate(f"Bearer {key}"),
        }
        assert (await sides["token"]()).subject == "user-bench"
        assert (await sides["key"]()).project_id == project.id
        await measure(arguments, sides)
    finally:
        await database.close()


async def measure(arguments: argparse.Namespace, sides: dict[str, Authenticate]) -> None:
    calls, db_pid = arguments.calls, database_pid()
    for authenticate in sides.values():  # warm-up
        await timed(authenticate, max(calls // 4, 1), db_pid)
    results: dict[str, list[Row]] = {name: [] for name in sides}
    print(f"{arguments.rounds} rounds x {calls} calls per side, one at a time")
    print(f"{'round':>5}  {'side':<6}  {'wall µs/call':>12}  {'CPU µs/call':>11}")
    order = list(sides)
    for number in range(1, arguments.rounds + 1):
        for name in order if number % 2 else reversed(order):
            row = await timed(sides[name], calls, db_pid)
            results[name].append(row)
            print(f"{number:>5}  {name:<6}  {row.wall_us:>12.1f}  {row.cpu_us:>11.1f}")
    pairs = list(zip(results["key"], results["token"], strict=True))
    wall = statistics.median(key.wall_us / token.wall_us for key, token in pairs)
    cpu = statistics.median(key.cpu_us / token.cpu_us for key, token in pairs if token.cpu_us)
    token_wall = statistics.median(row.wall_us for row in results["token"])
    key_wall = statistics.median(row.wall_us for row in results["key"])
    print(f"client token: {token_wall:.1f} µs per request; project key: {key_wall:.1f} µs")
    print(f"project key lookup / client token verification, wall time: {wall:.1f}x")
    print(f"project key lookup / client token verification, CPU (with the database's): {cpu:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Client token vs project key, per request.")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side")
    arguments = parser.parse_args(argv)
    if min(arguments.calls, arguments.rounds) < 1:
        parser.error("--calls and --rounds must be at least 1")
    run_with_database(lambda uri, state, servers: bench(arguments, uri, state, servers))


if __name__ == "__main__":
    main()
