"""Idle subscribers: what open `threadEvents` subscriptions cost a server while nothing happens.

A real `threadline run` server (one process, no workers) serves an in-memory embedded database.
This process measures the server idle with no websocket open, then opens N real websockets
(graphql-transport-ws, the `websockets` library, permessage-deflate offered as browsers do),
each subscribed to `threadEvents` on one of T threads, checks that every subscription is live
(one event written to each thread reaches every subscriber), and measures the server idle
again. Each idle window is `--seconds` long (90 by default), two of the server's websocket ping
intervals (THREADLINE_WS_PING_SECONDS, 45 s by default), so those are in it. Measured per
window: the server's resident memory at its end, the CPU of the server and of the database as a
share of one core, and the database's operations per second (serverStatus opcounters): with
nothing happening, each subscriber should cost memory only.

`--floor` then opens as many connections to two servers of the stack alone, with the same
websocket settings (bench/floor_servers.py): uvicorn with Starlette's websocket, and FastAPI
with a Strawberry subscription; each one's memory per connection is the floor under
Threadline's.

    .venv/bin/python bench/idle_subscribers.py [--subscribers N] [--threads T] [--seconds S]
        [--no-deflate] [--floor] [--quick]
"""

# ruff: noqa: T201

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant_lookup import start_uvicorn
from common import (
    DATABASE_NAME,
    CpuMeter,
    GraphQL,
    Servers,
    new_thread,
    next_message,
    opcounters,
    open_socket,
    raise_fd_limit,
    run_bench,
    start_subscription,
)
from event_latency import OPEN_AT_ONCE, Audience, connect, send_one
from floor_servers import FLOOR_SUBSCRIPTION
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection

from app.processes import free_port
from models.database import Database
from models.thread import ThreadDocument

OPERATIONS = ("insert", "query", "update", "delete", "getmore", "command")
# `--floor`: servers of the stack alone (bench/floor_servers.py), with Threadline's websocket
# settings, and whether their connections carry a subscription.
FLOORS = (
    ("uvicorn + Starlette websocket", "floor_servers:create_websocket_app", False),
    ("+ FastAPI, Strawberry subscription", "floor_servers:create_strawberry_app", True),
)
SETTLE_SECONDS = 5.0  # after the last connection opens, before a floor's memory is read


@dataclass
class Idle:
    subscribers: int
    memory_mb: float
    server_core: float  # share of one core
    database_core: float
    operations_per_second: float


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def idle(
    subscribers: int, seconds: float, pid: int, client: AsyncMongoClient[dict[str, Any]]
) -> Idle:
    meter = CpuMeter(pid)
    before = await opcounters(client)
    meter.start()
    await asyncio.sleep(seconds)  # the measurement: a window in which nothing is asked
    meter.stop()
    after = await opcounters(client)
    # The two serverStatus commands that read the counters are not the server's.
    operations = sum(after.get(name, 0) - before.get(name, 0) for name in OPERATIONS) - 1
    return Idle(
        subscribers,
        resident_mb(pid),
        meter.used["server"] / seconds,
        meter.used["database"] / seconds,
        operations / seconds,
    )


async def floor(target: str, subscribed: bool, count: int, deflate: bool) -> float:
    """KB per open connection on a server of the stack alone: its memory with `count`
    connections open (each past its subscription's first answer), less its memory with none."""
    ping = os.environ.get("THREADLINE_WS_PING_SECONDS", "45")
    options = ["--ws-ping-interval", ping, "--ws-per-message-deflate", str(deflate).lower()]
    server = start_uvicorn(target, free_port(), {}, app_dir="bench", options=options)
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    limit = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(index: int) -> ClientConnection:
        async with limit:
            socket = await open_socket(url, None, deflate)
            if subscribed:
                await start_subscription(socket, "s", FLOOR_SUBSCRIPTION, id=f"t{index}")
                await next_message(socket, "s")
            return socket

    async def accepts() -> bool:
        try:
            await (await open_socket(url, None, deflate)).close()
        except OSError:  # not listening yet
            return False
        return True

    sockets: list[ClientConnection] = []
    try:
        await server.wait_until_ready(accepts)
        await asyncio.sleep(SETTLE_SECONDS)
        before = resident_mb(server.process.pid)
        sockets = list(await asyncio.gather(*(one(index) for index in range(count))))
        await asyncio.sleep(SETTLE_SECONDS)
        return (resident_mb(server.process.pid) - before) * 1024 / count
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
        server.stop()


def print_row(row: Idle) -> None:
    print(
        f"{row.subscribers:>11} {row.memory_mb:>10.1f} {row.server_core * 100:>10.2f}"
        f" {row.database_core * 100:>10.2f} {row.operations_per_second:>10.2f}"
    )


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    count: int = arguments.subscribers
    raise_fd_limit(count * 2 + 256)
    server = servers.start(uri, workers=0)
    await server.wait_until_ready()
    key = server.key()
    pid = server.process.pid
    database = Database(uri, DATABASE_NAME)
    await database.connect()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    audiences: list[Audience] = []
    try:
        async with GraphQL(server.base_url, key) as gql:
            for index in range(arguments.threads):
                thread_id = await new_thread(gql)
                thread = await ThreadDocument.get(thread_id)
                assert thread is not None
                audiences.append(Audience(f"thread {index}", thread_id, thread.project_id))
        print(f"idle windows of {arguments.seconds:g} s; server: one process, no workers")
        print(f"{'subscribers':>11} {'memory MB':>10} {'server %':>10} {'db %':>10} {'ops/s':>10}")
        quiet = await idle(0, arguments.seconds, pid, client)
        print_row(quiet)
        started = time.perf_counter()
        per_thread, extra = divmod(count, arguments.threads)
        for index, audience in enumerate(audiences):
            size = per_thread + (1 if index < extra else 0)
            await connect(audience, server.ws_url, key, size, not arguments.no_deflate)
        took = time.perf_counter() - started
        receivers = [
            asyncio.create_task(audience.receive(socket))
            for audience in audiences
            for socket in audience.sockets
        ]
        try:
            for audience in audiences:  # every subscription is live
                sample = await send_one(audience, " live")
                if len(sample.arrivals) != len(audience.sockets):
                    raise RuntimeError(f"{audience.name} lost an event: {audience.problems}")
            busy = await idle(count, arguments.seconds, pid, client)
            print_row(busy)
        finally:
            for task in receivers:
                task.cancel()
            await asyncio.gather(*receivers, return_exceptions=True)
            sockets = [socket for audience in audiences for socket in audience.sockets]
            await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
        print(f"{count} websockets opened and subscribed in {took:.1f} s")
        memory = (busy.memory_mb - quiet.memory_mb) * 1024 / count
        print(f"memory per idle subscriber: {memory:.1f} KB ({busy.memory_mb:.0f} MB in all)")
        print(
            f"idle CPU with {count} subscribers: server {busy.server_core * 100:.2f}% of a core"
            f" (none open: {quiet.server_core * 100:.2f}%), database"
            f" {busy.database_core * 100:.2f}% ({quiet.database_core * 100:.2f}%)"
        )
        print(
            f"database operations per second while idle: {busy.operations_per_second:.2f}"
            f" (none open: {quiet.operations_per_second:.2f})"
        )
    finally:
        await client.close()
        await database.close()
    if arguments.floor:
        print(f"the stack alone, {count} idle connections (KB each):")
        for name, target, subscribed in FLOORS:
            per = await floor(target, subscribed, count, not arguments.no_deflate)
            print(f"  {name}: {per:.1f} KB")
        print(f"  Threadline, threadEvents: {memory:.1f} KB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="What idle subscribers cost a server.")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=100, help="threads they subscribe to")
    parser.add_argument("--seconds", type=float, default=90.0, help="each idle window")
    parser.add_argument(
        "--no-deflate", action="store_true", help="websockets without permessage-deflate"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 subscribers")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then as many connections to servers of the stack alone (bench/floor_servers.py)",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.subscribers, arguments.threads, arguments.seconds = 200, 10, 5.0
    if min(arguments.subscribers, arguments.threads) < 1 or arguments.seconds <= 0:
        parser.error("--subscribers and --threads must be at least 1, --seconds above 0")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
