"""Time to first token: a streamed REST run (`POST /v1/threads/{id}/runs` with `stream: true`,
server-sent events) against GraphQL (`createRun`, then a `runEvents(runId)` subscription over a
websocket), timed from sending the request to the first `thread.message.delta`.

A real `threadline run` server (THREADLINE_WORKERS in-process workers, model
`threadline/scripted`) serves an in-memory embedded database. Every run is on a fresh thread
(one user message; a thread has at most one active run), made with GraphQL `createThread`
before its round, untimed. Runs go one at a time, each read to its end (REST: `event: done`;
GraphQL: the subscription's `complete`), so every run starts on an idle server. Rounds
alternate between the faces (REST GraphQL, then GraphQL REST).

- REST: raw httpx streaming; the SSE frames are parsed here (a frame ends at a blank line),
  and the clock is read when the first `thread.message.delta` frame is complete.
- GraphQL: the mutation over HTTP, then `subscribe` on one websocket opened before the first
  round (graphql-transport-ws, as a browser holds one), replay then live; the clock is read
  when the first delta's `next` message arrives.

    .venv/bin/python bench/stream_first_delta.py [--runs N] [--rounds R] [--workers W]
        [--prompt TEXT] [--quick]
"""

# ruff: noqa: T201

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from common import (
    CREATE_THREAD,
    CpuMeter,
    GraphQL,
    Servers,
    auth_headers,
    new_assistant,
    open_socket,
    percentile,
    run_bench,
    wait_for_run_end,
)
from websockets.asyncio.client import ClientConnection

CREATE_RUN = """mutation($threadId: ID!, $input: CreateRunInput!) {
  createRun(threadId: $threadId, input: $input) { id status } }"""
QUESTION = "Hello there, how are you getting on today?"
DELTA = "thread.message.delta"
COMPLETED = "thread.run.completed"
THREADS_AT_ONCE = 8  # createThread requests in flight while a round's threads are made
WARM_UP_RUNS = 3
FACES = ("rest", "graphql")


@dataclass
class Sample:
    """One run, in milliseconds from sending the request: the answer to it (REST: the
    response's headers; GraphQL: the mutation's response), the first delta, the end."""

    accepted: float
    first: float
    end: float


@dataclass
class Round:
    face: str
    samples: list[Sample]
    cpu: dict[str, float]


# --- REST: server-sent events over raw httpx ---------------------------------------------------


async def sse_frames(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per frame of a `text/event-stream`: `event:`/`data:` lines, a frame
    ending at a blank line; comments (`:`) skipped."""
    name, data = "", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if name or data:
                yield name or "message", "\n".join(data)
            name, data = "", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


async def rest_run(http: httpx.AsyncClient, thread_id: str, assistant_id: str) -> Sample:
    body = {"assistant_id": assistant_id, "stream": True}
    names: list[str] = []
    first = 0.0
    started = time.perf_counter()
    async with http.stream("POST", f"/v1/threads/{thread_id}/runs", json=body) as response:
        accepted = time.perf_counter()
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"REST run refused: {response.status_code} {response.text}")
        async for name, data in sse_frames(response):
            if name == DELTA and not first:
                first = time.perf_counter()
                if json.loads(data).get("object") != DELTA:
                    raise RuntimeError(f"not a message delta: {data[:300]}")
            elif name == "error":
                raise RuntimeError(f"the REST stream failed: {data[:300]}")
            names.append(name)
            if name == "done":
                break
    end = time.perf_counter()
    if COMPLETED not in names or not first:
        raise RuntimeError(f"a REST run did not stream an answer to completion: {names}")
    return Sample(*((moment - started) * 1000 for moment in (accepted, first, end)))


# --- GraphQL: the mutation, then the subscription ------------------------------------------------


async def graphql_run(
    gql: GraphQL, socket: ClientConnection, thread_id: str, assistant_id: str
) -> Sample:
    firsts: list[float] = []

    def seen(name: str) -> None:
        if name == DELTA and not firsts:
            firsts.append(time.perf_counter())

    started = time.perf_counter()
    data = await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant_id})
    accepted = time.perf_counter()
    ended = await wait_for_run_end(socket, data["createRun"]["id"], seen)
    end = time.perf_counter()
    if ended != COMPLETED or not firsts:
        raise RuntimeError(f"a GraphQL run ended with {ended!r}, first delta seen: {bool(firsts)}")
    return Sample(*((moment - started) * 1000 for moment in (accepted, firsts[0], end)))


# --- The run -------------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        gql: GraphQL,
        http: httpx.AsyncClient,
        socket: ClientConnection,
        assistant_id: str,
        prompt: str,
    ) -> None:
        self.gql, self.http, self.socket = gql, http, socket
        self.assistant_id = assistant_id
        self.prompt = prompt

    async def threads(self, count: int) -> list[str]:
        limit = asyncio.Semaphore(THREADS_AT_ONCE)

        async def one() -> str:
            async with limit:
                data = await self.gql(CREATE_THREAD, input={"messages": [{"content": self.prompt}]})
                return str(data["createThread"]["id"])

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def run(self, face: str, thread_id: str) -> Sample:
        if face == "rest":
            return await rest_run(self.http, thread_id, self.assistant_id)
        return await graphql_run(self.gql, self.socket, thread_id, self.assistant_id)

    async def round(self, face: str, runs: int, meter: CpuMeter) -> Round:
        threads = await self.threads(runs)  # untimed, before the meter starts
        meter.start()
        samples = [await self.run(face, thread_id) for thread_id in threads]
        meter.stop()
        return Round(face, samples, meter.used)


def print_row(label: str, rows: list[Round]) -> None:
    samples = [sample for row in rows for sample in row.samples]
    first = [sample.first for sample in samples]
    cpu = {
        name: sum(row.cpu.get(name, 0.0) for row in rows) * 1000 / max(len(samples), 1)
        for name in ("server", "database", "client")
    }
    print(
        f"{label:<16} {len(samples):>5}"
        f" {percentile([s.accepted for s in samples], 0.5):>8.1f}"
        f" {percentile(first, 0.5):>7.1f} {percentile(first, 0.95):>7.1f}"
        f" {percentile([s.end for s in samples], 0.5):>7.1f}"
        f" {cpu['server']:>10.1f} {cpu['database']:>6.1f} {cpu['client']:>6.1f}"
    )


def p50_first(row: Round) -> float:
    return percentile([sample.first for sample in row.samples], 0.5)


def report(results: dict[str, list[Round]]) -> None:
    rest = [s.first for row in results["rest"] for s in row.samples]
    graphql = [s.first for row in results["graphql"] for s in row.samples]
    for face, values in (("REST", rest), ("GraphQL", graphql)):
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(f"{face + ':':<9} first delta p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    per_round = [
        p50_first(a) / p50_first(b)
        for a, b in zip(results["rest"], results["graphql"], strict=True)
    ]
    print(f"REST/GraphQL first-delta p50 per round: {', '.join(f'{r:.2f}' for r in per_round)}")
    p50 = percentile(rest, 0.5) / percentile(graphql, 0.5)
    p95 = percentile(rest, 0.95) / percentile(graphql, 0.95)
    print(
        f"REST's first delta comes at {p50:.2f}x (p50) and {p95:.2f}x (p95) GraphQL's"
        f" (median per-round ratio {statistics.median(per_round):.2f}x)"
    )


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    server = servers.start(uri, workers=arguments.workers)
    await server.wait_until_ready()
    key = server.key()
    headers = auth_headers(key)
    async with (
        GraphQL(server.base_url, key) as gql,
        httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=120.0) as http,
    ):
        assistant_id = await new_assistant(gql)
        socket = await open_socket(server.ws_url, key)
        try:
            runner = Bench(gql, http, socket, assistant_id, arguments.prompt)
            for face in FACES:  # warm-up: connections, lazy imports, the workers' first claim
                for thread_id in await runner.threads(WARM_UP_RUNS):
                    await runner.run(face, thread_id)
            await measure(arguments, runner, server.process.pid)
        finally:
            await socket.close()


async def measure(arguments: argparse.Namespace, runner: Bench, server_pid: int) -> None:
    meter = CpuMeter(server_pid)
    results: dict[str, list[Round]] = {face: [] for face in FACES}
    print(
        f"{arguments.rounds} rounds x {arguments.runs} runs per face, one at a time, each on a"
        f" fresh thread; {arguments.workers} in-process workers; ms from sending the request"
    )
    print(
        f"{'':<16} {'runs':>5} {'accepted':>8} {'first':>7} {'p95':>7} {'end':>7}"
        f" {'CPU ms/run: server':>10} {'db':>6} {'client':>6}"
    )
    for number in range(1, arguments.rounds + 1):
        for face in FACES if number % 2 else tuple(reversed(FACES)):
            row = await runner.round(face, arguments.runs, meter)
            results[face].append(row)
            print_row(f"round {number} {face}", [row])
    for face in FACES:
        print_row(f"all {face}", results[face])
    report(results)
    print("load average (1, 5, 15 min) at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Time to first token: a streamed REST run against createRun + runEvents."
    )
    parser.add_argument("--runs", type=int, default=25, help="runs per round and face")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per face")
    parser.add_argument("--workers", type=int, default=2, help="the server's in-process workers")
    parser.add_argument("--prompt", default=QUESTION, help="each thread's user message")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds x 8 runs")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.runs, arguments.rounds = 8, 2
    if min(arguments.runs, arguments.rounds, arguments.workers) < 1:
        parser.error("--runs, --rounds and --workers must be at least 1")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
