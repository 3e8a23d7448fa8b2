"""Stored data: what a project's reads, runs and an idle server cost once the database holds
much more than that project, against the same server before it did.

A real `threadline run` server (one worker) on an in-memory embedded database. Its default
project gets a small, real working set through the API: an assistant with `file_search`, a
file in a vector store, a thread with four completed runs (the one read), and a thread that
the timed runs go on. Then, in one run of the bench:

1. **small**: the server idles for `--idle` seconds (the database's and the server's CPU,
   in windows of 5 s: the median and the highest), then each operation below runs
   `--repeat` times, one at a time (p50 of each);
2. every document of the database (threads, messages, runs, steps, events, files, vector
   stores and their chunks…) is copied `--copies` times into another project, under new ids,
   and the bench waits until the database is quiet again (a 5-s window under 5% of a core);
3. **large**: the same again.

It prints, per operation, the p50 in each phase and large/small; and the idle CPU of each.
A ratio near 1 means the operation costs what it did, however much else the database holds.

    .venv/bin/python bench/stored_data.py [--copies N] [--repeat K] [--idle SECONDS]
"""

# ruff: noqa: T201

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from common import (
    DATABASE_NAME,
    SCRIPTED_MODEL,
    CpuMeter,
    GraphQL,
    Json,
    Servers,
    copied,
    run_bench,
)
from pymongo import AsyncMongoClient

OTHER_PROJECT = "proj_other"
# Collections of the server's own bookkeeping, not of any project's data.
NOT_COPIED = {"api_keys", "projects", "processes", "migrations", "client_tokens"}
Operation = Callable[[], Awaitable[None]]
IDLE_WINDOW = 5.0  # seconds: idle CPU is measured in windows, their median reported
SETTLED = 5.0  # % of a core: the database is quiet again after the copy


class Project:
    """The default project's working set, made through the API, and what is read of it."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql
        self.http = gql.http  # the same key, for OpenAI's REST face
        self.assistant = self.thread = self.run = self.file = self.store = ""
        self.busy = ""  # the thread runs are timed on (the read thread stays as made)

    async def get(self, path: str) -> Json:
        response = await self.http.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        body: Json = response.json()
        return body

    async def make(self) -> None:
        created = await self.gql(
            "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { id } }",
            input={"model": SCRIPTED_MODEL, "tools": [{"type": "FILE_SEARCH"}]},
        )
        self.assistant = created["createAssistant"]["id"]
        upload = await self.http.post(
            "/v1/files",
            files={"file": ("notes.txt", b"Threadline keeps its runs. " * 40, "text/plain")},
            data={"purpose": "assistants"},
        )
        self.file = upload.json()["id"]
        store = await self.http.post("/v1/vector_stores", json={"file_ids": [self.file]})
        self.store = store.json()["id"]
        self.run, self.thread = await self.run_to_the_end(None)
        for _ in range(3):
            await self.run_to_the_end(self.thread)
        _, self.busy = await self.run_to_the_end(None)
        while (await self.get(f"/v1/vector_stores/{self.store}"))["status"] != "completed":
            await asyncio.sleep(0.05)

    async def run_to_the_end(self, thread: str | None) -> tuple[str, str]:
        """A run on `thread` after a new message (a new thread without one), to COMPLETED."""
        if thread is None:
            data = await self.gql(
                "mutation($a: ID!) { createThreadAndRun(input: {assistantId: $a, thread: "
                '{messages: [{content: "What is kept?"}]}}) { id threadId } }',
                a=self.assistant,
            )
            run, thread = data["createThreadAndRun"]["id"], data["createThreadAndRun"]["threadId"]
        else:
            await self.gql(
                'mutation($t: ID!) { createMessage(threadId: $t, input: {content: "And?"}) '
                "{ id } }",
                t=thread,
            )
            data = await self.gql(
                "mutation($t: ID!, $a: ID!) { createRun(threadId: $t, input: {assistantId: $a})"
                " { id } }",
                t=thread,
                a=self.assistant,
            )
            run = data["createRun"]["id"]
        while (status := (await self.get(f"/v1/threads/{thread}/runs/{run}"))["status"]) in (
            "queued",
            "in_progress",
        ):
            await asyncio.sleep(0.02)
        if status != "completed":
            raise RuntimeError(f"run {run} ended {status}")
        return run, thread

    def operations(self) -> dict[str, Operation]:
        """What a frontend and an SDK do with the project: pages (first and after a cursor),
        reads by id, and runs."""
        messages = f"/v1/threads/{self.thread}/messages"
        runs = f"/v1/threads/{self.thread}/runs"

        def reading(path: str) -> Operation:
            async def read() -> None:
                await self.get(path)

            return read

        def querying(query: str, **variables: Any) -> Operation:
            async def read() -> None:
                await self.gql(query, **variables)

            return read

        async def run_on_the_thread() -> None:
            await self.run_to_the_end(self.busy)

        async def new_thread_and_run() -> None:
            await self.run_to_the_end(None)

        return {
            "GraphQL threads, first page": querying("{ threads(first: 20) { nodes { id } } }"),
            "GraphQL a thread's messages and runs": querying(
                "query($t: ID!) { thread(id: $t) { messages(first: 20) { nodes { id } } "
                "runs(first: 20) { nodes { id steps(first: 20) { nodes { id } } } } } }",
                t=self.thread,
            ),
            "REST assistants after a cursor": reading(f"/v1/assistants?after={self.assistant}"),
            "REST messages": reading(f"{messages}?limit=5"),
            "REST runs after a cursor": reading(f"{runs}?limit=5&after={self.run}"),
            "REST a run's steps": reading(f"{runs}/{self.run}/steps"),
            "REST files": reading("/v1/files"),
            "REST a vector store's files": reading(f"/v1/vector_stores/{self.store}/files"),
            "a run on a thread, to COMPLETED": run_on_the_thread,
            "a new thread and run, to COMPLETED": new_thread_and_run,
        }


async def copy_into_another_project(uri: str, copies: int) -> int:
    """Every project document of the database, `copies` times, into OTHER_PROJECT."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri)
    database = client[DATABASE_NAME]
    written = 0
    try:
        for name in await database.list_collection_names():
            if name in NOT_COPIED or name.startswith("system."):
                continue
            originals = await database[name].find({}).to_list()
            batch: list[Json] = []
            for number in range(copies):
                for original in originals:
                    batch.append(copied(original, f"c{number}", OTHER_PROJECT))
                    if len(batch) == 5000:
                        await database[name].insert_many(batch)
                        written, batch = written + len(batch), []
            if batch:
                await database[name].insert_many(batch)
                written += len(batch)
    finally:
        await client.close()
    return written


async def settle(meter: CpuMeter, limit: float = 600.0) -> str:
    """Waits until the database is quiet again (a window under SETTLED % of a core): after
    200,000 inserts at once it stays busy for a while with its own work, which is not what
    an idle server costs. How long it took, or that it never got there."""
    started = time.monotonic()
    while (waited := time.monotonic() - started) < limit:
        meter.start()
        await asyncio.sleep(IDLE_WINDOW)
        meter.stop()
        if 100 * meter.used["database"] / IDLE_WINDOW < SETTLED:
            return f"the database settled {time.monotonic() - started:.0f} s after the copy"
    return f"the database did not settle in {waited:.0f} s: measured busy"


async def phase(
    operations: dict[str, Operation], meter: CpuMeter, idle: float, repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The idle CPU (% of a core, per process: the median and the highest of windows of
    IDLE_WINDOW seconds) and each operation's p50 in ms."""
    windows: list[dict[str, float]] = []
    for _ in range(max(1, round(idle / IDLE_WINDOW))):
        meter.start()
        await asyncio.sleep(IDLE_WINDOW)
        meter.stop()
        windows.append({name: 100 * seconds / IDLE_WINDOW for name, seconds in meter.used.items()})
    idle_cpu = {
        f"{name} {how}": pick(window[name] for window in windows)
        for name in windows[0]
        for how, pick in (("median", statistics.median), ("highest", max))
    }
    p50: dict[str, float] = {}
    for label, operation in operations.items():
        await operation()  # warm
        took = []
        for _ in range(repeat):
            started = time.perf_counter()
            await operation()
            took.append((time.perf_counter() - started) * 1000)
        p50[label] = statistics.median(took)
    return idle_cpu, p50


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    server = servers.start(uri, workers=1)
    await server.wait_until_ready()
    async with GraphQL(server.base_url, server.key()) as gql:
        project = Project(gql)
        await project.make()
        operations = project.operations()
        meter = CpuMeter(server.process.pid)
        small = await phase(operations, meter, arguments.idle, arguments.repeat)
        started = time.monotonic()
        written = await copy_into_another_project(uri, arguments.copies)
        print(
            f"copied {written} documents into {OTHER_PROJECT} "
            f"({arguments.copies} copies, {time.monotonic() - started:.0f} s)"
        )
        print(await settle(meter))
        large = await phase(operations, meter, arguments.idle, arguments.repeat)
    print(f"{'p50 ms':<40} {'small':>8} {'large':>8} {'large/small':>11}")
    for label in operations:
        before, after = small[1][label], large[1][label]
        print(f"{label:<40} {before:>8.1f} {after:>8.1f} {after / before:>11.2f}")
    print("idle CPU, % of a core (median, highest window):")
    for name in ("database", "server"):
        median, highest = f"{name} median", f"{name} highest"
        print(
            f"  {name:<8}  small {small[0][median]:.1f}, {small[0][highest]:.1f}"
            f"  large {large[0][median]:.1f}, {large[0][highest]:.1f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A project's costs as the database fills up.")
    parser.add_argument("--copies", type=int, default=500, help="copies of every document")
    parser.add_argument("--repeat", type=int, default=9, help="times each operation runs")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    arguments = parser.parse_args(argv)
    if arguments.copies < 1 or arguments.repeat < 1 or arguments.idle <= 0:
        parser.error("--copies and --repeat must be at least 1, --idle above 0")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
