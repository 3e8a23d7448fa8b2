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
        [--concurrency C] [--workers W] [--quick] [--floor]

With --floor, a third kind of round writes each run's documents alone (copies of a finished
run's: its thread, question, run, step, answer and events, under new ids) with PyMongo from
this process, in the three transactions a run needs (created, started, ended) and nothing
read: the database's floor for a run, which no server on it can beat.
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
    copied,
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


@dataclass
class RunShape:
    """`--floor`: a finished run's documents, as the transaction a run writes each in: when it
    is created (its thread, the question, the run, the events up to `thread.run.queued`), when
    it starts (the next event) and when it ends (the other events, its step and its answer)."""

    thread: Json
    questions: list[Json]
    run: Json
    steps: list[Json]
    answers: list[Json]
    created: list[Json]  # events
    started: list[Json]
    ended: list[Json]

    @classmethod
    async def of_a_stored_run(cls, database: Any) -> "RunShape":
        run = await database["runs"].find_one({"status": "completed"})
        assert run is not None, "no completed run to copy"
        thread_id = run["thread_id"]
        thread = await database["threads"].find_one({"_id": thread_id})
        messages = await database["messages"].find({"thread_id": thread_id}).to_list()
        steps = await database["run_steps"].find({"run_id": run["_id"]}).to_list()
        events = await database["events"].find({"thread_id": thread_id}).to_list()
        events.sort(key=lambda event: event["sequence"])
        queued = next(n for n, event in enumerate(events) if event["event"] == "thread.run.queued")
        return cls(
            thread=thread,
            questions=[m for m in messages if m.get("run_id") is None],
            run=run,
            steps=steps,
            answers=[m for m in messages if m.get("run_id") is not None],
            created=events[: queued + 1],
            started=events[queued + 1 : queued + 2],
            ended=events[queued + 2 :],
        )

    def copy(self) -> "RunShape":
        """The same documents for a new thread and run: new ids, nothing shared."""
        tag = str(ObjectId())

        def fresh(documents: list[Json]) -> list[Json]:
            return [copied(document, tag) for document in documents]

        return RunShape(
            thread=copied(self.thread, tag),
            questions=fresh(self.questions),
            run=copied(self.run, tag),
            steps=fresh(self.steps),
            answers=fresh(self.answers),
            created=fresh(self.created),
            started=fresh(self.started),
            ended=fresh(self.ended),
        )


async def write_a_run(database: Any, session: Any, run: RunShape) -> None:
    """A run's documents in the three transactions a run needs (created, started, ended),
    nothing read: what the database does for a run with none of Threadline's work."""
    runs, events = database["runs"], database["events"]
    scope = {"_id": run.run["_id"]}

    async def created(session: Any) -> None:
        await database["threads"].insert_one(run.thread, session=session)
        await database["messages"].insert_many(run.questions, session=session)
        await runs.insert_one({**run.run, "status": "queued"}, session=session)
        await events.insert_many(run.created, session=session)

    async def started(session: Any) -> None:
        await runs.update_one(scope, {"$set": {"status": "in_progress"}}, session=session)
        await events.insert_many(run.started, session=session)

    async def ended(session: Any) -> None:
        await events.insert_many(run.ended, session=session)
        await database["run_steps"].insert_many(run.steps, session=session)
        await database["messages"].insert_many(run.answers, session=session)
        await runs.update_one(scope, {"$set": {"status": "completed"}}, session=session)

    for transaction in (created, started, ended):
        await session.with_transaction(transaction)


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
        self.shape: RunShape | None = None  # --floor
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

    async def one_floor_run(self, client: int) -> None:
        assert self.shape is not None
        async with self.mongo.start_session() as session:
            await write_a_run(self.mongo[DATABASE_NAME], session, self.shape.copy())

    async def measure(self, kind: str, total: int) -> Round:
        one = {"runs": self.one_run, "inserts": self.one_insert, "floor": self.one_floor_run}[kind]
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
    kinds = ["runs", "inserts"]
    if arguments.floor:
        work.shape = await RunShape.of_a_stored_run(work.mongo[DATABASE_NAME])
        await work.measure("floor", concurrency * 2)
        kinds.append("floor")
    print(
        f"{arguments.rounds} rounds: {runs} runs (createThreadAndRun -> runEvents until it ends)"
        f" and {inserts} insert_one of a {len(BSON.encode(stored))}-byte run document;"
        f" {concurrency} clients; THREADLINE_WORKERS={arguments.workers}"
    )
    print(
        f"{'':<16} {'done':>6} {'per s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'CPU ms/op: server':>11} {'database':>8} {'client':>6} {'threads':>7}"
    )
    results: dict[str, list[Round]] = {kind: [] for kind in kinds}
    for number in range(1, arguments.rounds + 1):
        shift = (number - 1) % len(kinds)  # runs inserts floor, inserts floor runs, …
        for kind in kinds[shift:] + kinds[:shift]:
            row = await work.measure(kind, inserts if kind == "inserts" else runs)
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
    per_run = sum(counts.values()) / all_runs
    print(
        "documents per run: "
        + ", ".join(f"{counts[name] / all_runs:.1f} {name}" for name in COUNTED)
        + f" ({per_run:.1f} in all)"
    )
    # The measure: runs/s against the insert ceiling ÷ the documents a run leaves.
    for kind in ("runs", "floor"):
        if kind in results:
            measure = statistics.median(
                r.rate / i.rate * per_run for r, i in zip(results[kind], insert_rounds, strict=True)
            )
            print(f"{kind}/s ÷ (inserts/s ÷ {per_run:.1f} documents a run leaves): {measure:.2f}")
    if "floor" in results:
        share = statistics.median(
            r.rate / f.rate for r, f in zip(run_rounds, results["floor"], strict=True)
        )
        print(f"Threadline's runs/s ÷ the floor's (its documents written alone): {share:.2f}")


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
        "--floor",
        action="store_true",
        help="a third kind of round: each run's documents written alone, in its three"
        " transactions, by this process (the database's floor for a run)",
    )
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
