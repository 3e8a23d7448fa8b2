"""Run throughput: runs/s end to end with `threadline/scripted`, against the raw insert rate of
the same database, measured in the same run.

A real `threadline run` server (THREADLINE_WORKERS in-process workers) serves an in-memory
embedded database. Each of `--concurrency` clients loops: `createThreadAndRun` over HTTP (a new
thread with one user message), then `runEvents(runId)` over its own websocket until the
subscription completes after the run's terminal event. Every run must end COMPLETED. The
baseline round has as many PyMongo tasks each `insert_one` a document the size of a stored run
into a scratch collection of the same database. Rounds alternate (runs, inserts, then inserts,
runs). The database's own operation counters (serverStatus) give the writes a run costs.

    .venv/bin/python bench/run_throughput.py [--runs N] [--inserts N] [--rounds R]
        [--concurrency C] [--workers W] [--quick]
"""

# ruff: noqa: T201

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bson import BSON, ObjectId
from common import (
    DATABASE_NAME,
    CpuMeter,
    GraphQL,
    Servers,
    new_assistant,
    opcounters,
    open_socket,
    percentile,
    run_bench,
    wait_for_run_end,
)
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection

CREATE_THREAD_AND_RUN = """mutation($input: CreateThreadAndRunInput!) {
  createThreadAndRun(input: $input) { id status } }"""
QUESTION = "Hello there, how are you getting on today?"
SCRATCH = "bench_inserts"
COUNTED = ("threads", "messages", "runs", "run_steps", "events")
WRITES = ("insert", "update", "delete")

Json = dict[str, Any]


@dataclass
class Round:
    kind: str  # "runs" or "inserts"
    done: int
    seconds: float
    latencies_ms: list[float]
    cpu: dict[str, float]
    ops: dict[str, int]
    threads: int  # threads stored when the round began

    @property
    def rate(self) -> float:
        return self.done / self.seconds


async def load(
    total: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """`total` calls of `one(client)`, `concurrency` clients each taking the next until none
    are left; the elapsed seconds and each call's latency in ms."""
    latencies: list[float] = []
    remaining = total

    async def client(number: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await one(number)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(concurrency)))
    return time.perf_counter() - started, latencies


class Bench:
    def __init__(
        self,
        gql: GraphQL,
        sockets: list[ClientConnection],
        mongo: AsyncMongoClient[Json],
        assistant_id: str,
        meter: CpuMeter,
        prompt: str = QUESTION,
    ) -> None:
        self.prompt = prompt
        self.gql = gql
        self.sockets = sockets
        self.mongo = mongo
        self.assistant_id = assistant_id
        self.meter = meter
        self.template: Json = {}
        self.outcomes: dict[str, int] = {}

    async def one_run(self, client: int) -> None:
        thread = {"messages": [{"content": self.prompt}]}
        data = await self.gql(
            CREATE_THREAD_AND_RUN, input={"assistantId": self.assistant_id, "thread": thread}
        )
        ended = await wait_for_run_end(self.sockets[client], data["createThreadAndRun"]["id"])
        self.outcomes[ended] = self.outcomes.get(ended, 0) + 1

    async def one_insert(self, client: int) -> None:
        await self.mongo[DATABASE_NAME][SCRATCH].insert_one({**self.template, "_id": ObjectId()})

    async def measure(self, kind: str, total: int) -> Round:
        one = self.one_run if kind == "runs" else self.one_insert
        threads = await self.mongo[DATABASE_NAME]["threads"].count_documents({})
        before = await opcounters(self.mongo)
        self.meter.start()
        seconds, latencies = await load(total, len(self.sockets), one)
        self.meter.stop()
        after = await opcounters(self.mongo)
        ops = {name: after[name] - before.get(name, 0) for name in after}
        return Round(kind, total, seconds, latencies, self.meter.used, ops, threads)


def print_row(label: str, row: Round) -> None:
    cpu = {name: seconds * 1000 / row.done for name, seconds in row.cpu.items()}
    print(
        f"{label:<16} {row.done:>6} {row.rate:>8.1f} {percentile(row.latencies_ms, 0.5):>7.1f}"
        f" {percentile(row.latencies_ms, 0.95):>7.1f} {cpu['server']:>11.2f}"
        f" {cpu['database']:>8.2f} {cpu['client']:>6.2f} {row.threads:>7}"
    )


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    concurrency: int = arguments.concurrency
    server = servers.start(uri, workers=arguments.workers)
    await server.wait_until_ready()
    key = server.key()
    # Not retryable: SecantusDB keeps a record of every retryable write for 30 minutes and
    # sorts them all on each write past 10,000, so retryable baseline inserts would slow down
    # the server's own writes (and themselves) as the bench goes on.
    mongo: AsyncMongoClient[Json] = AsyncMongoClient(uri, retryWrites=False)
    sockets: list[ClientConnection] = []
    try:
        async with GraphQL(server.base_url, key, concurrency) as gql:
            assistant_id = await new_assistant(gql)
            sockets = list(
                await asyncio.gather(*(open_socket(server.ws_url, key) for _ in range(concurrency)))
            )
            meter = CpuMeter(server.process.pid)
            work = Bench(gql, sockets, mongo, assistant_id, meter, arguments.prompt)
            await measure(arguments, work)
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
        await mongo.close()


async def measure(arguments: argparse.Namespace, work: Bench) -> None:
    runs: int = arguments.runs
    inserts: int = arguments.inserts
    concurrency: int = arguments.concurrency
    # Warm-up: connections, caches, lazy imports, on both sides.
    await work.measure("runs", concurrency * 2)
    stored = await work.mongo[DATABASE_NAME]["runs"].find_one({})
    assert stored is not None
    work.template = {name: value for name, value in stored.items() if name != "_id"}
    await work.measure("inserts", concurrency * 4)
    print(
        f"{arguments.rounds} rounds: {runs} runs (createThreadAndRun -> runEvents until it ends)"
        f" and {inserts} insert_one of a {len(BSON.encode(stored))}-byte run document;"
        f" {concurrency} clients; THREADLINE_WORKERS={arguments.workers}"
    )
    print(
        f"{'':<16} {'done':>6} {'per s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'CPU ms/op: server':>11} {'database':>8} {'client':>6} {'threads':>7}"
    )
    results: dict[str, list[Round]] = {"runs": [], "inserts": []}
    for number in range(1, arguments.rounds + 1):
        for kind in ("runs", "inserts") if number % 2 else ("inserts", "runs"):
            row = await work.measure(kind, runs if kind == "runs" else inserts)
            results[kind].append(row)
            print_row(f"round {number} {kind}", row)
    await report(work, results)


async def report(work: Bench, results: dict[str, list[Round]]) -> None:
    run_rounds, insert_rounds = results["runs"], results["inserts"]
    for kind, rows in results.items():
        print(
            f"median {kind:<9} {'':>6} {statistics.median(r.rate for r in rows):>8.1f}"
            f" {statistics.median(percentile(r.latencies_ms, 0.5) for r in rows):>7.1f}"
            f" {statistics.median(percentile(r.latencies_ms, 0.95) for r in rows):>7.1f}"
        )
    completed = work.outcomes.get("thread.run.completed", 0)
    if completed != sum(work.outcomes.values()):
        print(f"NOT ALL RUNS COMPLETED: {work.outcomes}")
    ratios = [r.rate / i.rate for r, i in zip(run_rounds, insert_rounds, strict=True)]
    ratio = statistics.median(ratios)
    print(f"runs/s / inserts/s per round: {', '.join(f'{value:.4f}' for value in ratios)}")
    print(
        f"Threadline completes {ratio:.4f} runs per raw insert_one of the same database"
        f" (a run takes the time of {1 / ratio:.0f} inserts)"
    )
    total_runs = sum(r.done for r in run_rounds)
    ops = {name: sum(r.ops.get(name, 0) for r in run_rounds) for name in run_rounds[0].ops}
    writes = sum(ops.get(name, 0) for name in WRITES)
    print(
        f"database operations per run: {writes / total_runs:.1f} writes ("
        + ", ".join(f"{ops.get(name, 0) / total_runs:.1f} {name}" for name in WRITES)
        + "), "
        + ", ".join(
            f"{value / total_runs:.1f} {name}"
            for name, value in ops.items()
            if name not in WRITES and value
        )
    )
    database = work.mongo[DATABASE_NAME]
    all_runs = await database["runs"].count_documents({})
    counts = {name: await database[name].count_documents({}) for name in COUNTED}
    print(
        "documents per run: "
        + ", ".join(f"{counts[name] / all_runs:.1f} {name}" for name in COUNTED)
        + f" ({sum(counts.values()) / all_runs:.1f} in all)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Runs/s end to end with threadline/scripted vs raw inserts/s."
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per round")
    parser.add_argument("--inserts", type=int, default=5000, help="inserts per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each")
    parser.add_argument("--concurrency", type=int, default=32, help="clients at once")
    parser.add_argument("--workers", type=int, default=2, help="THREADLINE_WORKERS")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument(
        "--prompt",
        default=QUESTION,
        help="each run's user message, e.g. '/tokens 20' for a 20-token answer, or with"
        " '/slow 10' on a line before it for a model that streams a token every 10 ms",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.runs, arguments.inserts, arguments.rounds = 40, 500, 2
    if min(arguments.runs, arguments.inserts, arguments.rounds, arguments.concurrency) < 1:
        parser.error("--runs, --inserts, --rounds and --concurrency must be at least 1")
    if arguments.workers < 1:
        parser.error("--workers must be at least 1: nothing would execute the runs")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
