"""Event latency: from an event's commit to its arrival at 1 and at 1,000 websocket subscribers.

A real `threadline run` server (no workers) serves an in-memory embedded database. Real
websockets (graphql-transport-ws, the `websockets` library): one, in this process, subscribes to
`threadEvents` on thread A; 1,000, in a client process of their own, subscribe to `threadEvents`
on thread B. This process then writes `thread.message.delta` events itself, through the engine's
own `models.event.append` in a transaction, as a worker does for each streamed token, and notes
the clock right after the commit returns. Latency is each subscriber's receive time minus that
commit time (one clock: CLOCK_MONOTONIC, the same in every process; the client process reports
its receive times). The next event is written only once every subscriber has the last one, so
each measures one event's trip, not a queue. Rounds alternate between the two threads (A B,
then B A), so noise hits both.

    .venv/bin/python bench/event_latency.py [--subscribers N] [--events E] [--rounds R]
        [--processes P] [--client-processes C] [--no-deflate] [--quick]

The 1,000 are split over `--client-processes` (default 1). With 0 they share this process, as
before issue 13's fourth stop: then the writer notes a commit only once its loop has worked
through the messages already received, which understates the latency.

With `--processes 2`, the server runs two processes on its port (THREADLINE_PROCESSES), each
following the log and fanning events out to the subscribers the kernel gave it.
"""

# ruff: noqa: T201

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from asyncio.subprocess import PIPE
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from common import (
    DATABASE_NAME,
    CpuMeter,
    GraphQL,
    Servers,
    new_thread,
    open_socket,
    percentile,
    raise_fd_limit,
    run_bench,
    start_subscription,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from models.database import Database
from models.event import NewEvent, append
from models.thread import ThreadDocument, threads

SUBSCRIPTION = """subscription($id: ID!, $after: Int) {
  threadEvents(threadId: $id, afterSequence: $after) {
    sequence event runId threadId createdAt
    ... on MessageDeltaEvent { messageId textDelta delta }
  }
}"""
OPEN_AT_ONCE = 50  # websocket handshakes in flight while connecting the subscribers
ARRIVAL_TIMEOUT = 30.0
WARM_UP_EVENTS = 10
GAP_SECONDS = 0.01  # quiet time between one event's last arrival and the next write
FAKE_RUN = "run_benchEventLatency0000000"
FAKE_MESSAGE = "msg_benchEventLatency0000000"
KEY_VARIABLE = "BENCH_EVENT_LATENCY_KEY"  # the key, to a client process (not on its command line)


@dataclass
class Audience:
    """The subscribers of one thread and when each event reached each of them."""

    name: str
    thread_id: str
    project_id: str
    sockets: list[ClientConnection] = field(default_factory=list)
    elsewhere: int = 0  # subscribers in client processes of their own (ClientProcess)
    arrivals: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    everyone: dict[int, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    problems: list[str] = field(default_factory=list)
    # In a client process: told of each event once all its subscribers here have it.
    on_everyone: Callable[[int, list[float]], None] | None = None

    @property
    def size(self) -> int:
        return len(self.sockets) + self.elsewhere

    def arrived(self, sequence: int, at: float) -> None:
        times = self.arrivals[sequence]
        times.append(at)
        if len(times) == self.size:
            if self.on_everyone is not None:
                self.on_everyone(sequence, self.arrivals.pop(sequence))
            else:
                self.everyone[sequence].set()

    async def receive(self, socket: ClientConnection) -> None:
        """One subscriber: the receive time is taken before anything else is done."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in socket:
                at = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next" and not message["payload"].get("errors"):
                    self.arrived(message["payload"]["data"]["threadEvents"]["sequence"], at)
                elif kind == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif kind in ("next", "error", "complete"):
                    self.problems.append(str(message)[:300])


@dataclass
class Sample:
    """One event: when writing began, when the commit returned, and its arrivals."""

    started: float
    committed: float
    arrivals: list[float]

    @property
    def latencies_ms(self) -> list[float]:
        return [(at - self.committed) * 1000 for at in self.arrivals]


async def write_event(audience: Audience, token: str) -> tuple[int, float, float]:
    """One token's delta event, appended in a transaction as the engine appends it."""
    data = {
        "message_id": FAKE_MESSAGE,
        "text_delta": token,
        "delta": {"content": [{"index": 0, "type": "text", "text": {"value": token}}]},
    }
    new = [NewEvent("thread.message.delta", FAKE_RUN, data)]
    started = time.perf_counter()
    stored = await threads.transaction(
        lambda session: append(session, audience.project_id, audience.thread_id, new)
    )
    committed = time.perf_counter()
    return stored[0].sequence, started, committed


async def send_one(audience: Audience, token: str) -> Sample:
    sequence, started, committed = await write_event(audience, token)
    try:
        await asyncio.wait_for(audience.everyone[sequence].wait(), ARRIVAL_TIMEOUT)
    except TimeoutError:
        missing = audience.size - len(audience.arrivals[sequence])
        audience.problems.append(f"event {sequence}: {missing} subscribers never received it")
    return Sample(started, committed, list(audience.arrivals.pop(sequence, [])))


async def connect(audience: Audience, url: str, key: str | None, count: int, deflate: bool) -> None:
    """`count` websockets, each subscribed to the thread's events from now on."""
    limit = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(index: int) -> ClientConnection:
        async with limit:
            socket = await open_socket(url, key, deflate)
            await start_subscription(
                socket, f"s{index}", SUBSCRIPTION, id=audience.thread_id, after=0
            )
            return socket

    audience.sockets = list(await asyncio.gather(*(one(index) for index in range(count))))


@dataclass
class Round:
    audience: str
    samples: list[Sample]
    cpu: dict[str, float]

    @property
    def latencies_ms(self) -> list[float]:
        return [value for sample in self.samples for value in sample.latencies_ms]

    @property
    def last_arrivals_ms(self) -> list[float]:
        """Per event: when the last subscriber had it."""
        return [max(sample.latencies_ms) for sample in self.samples if sample.arrivals]


async def measure_round(audience: Audience, events: int, meter: CpuMeter) -> Round:
    samples = []
    meter.start()
    for index in range(events):
        samples.append(await send_one(audience, f" word{index}"))
        await asyncio.sleep(GAP_SECONDS)
    meter.stop()
    return Round(audience.name, samples, meter.used)


def print_row(label: str, rows: list[Round]) -> None:
    latencies = [value for row in rows for value in row.latencies_ms]
    last = [value for row in rows for value in row.last_arrivals_ms]
    events = sum(len(row.samples) for row in rows)
    commits = [(s.committed - s.started) * 1000 for row in rows for s in row.samples]
    cpu = {
        name: sum(row.cpu.get(name, 0.0) for row in rows) * 1000 / max(events, 1)
        for name in ("server", "database", "client")
    }
    print(
        f"{label:<16} {events:>6} {len(latencies):>8} {percentile(latencies, 0.5):>7.2f}"
        f" {percentile(latencies, 0.95):>7.2f} {percentile(last, 0.5):>9.2f}"
        f" {percentile(commits, 0.5):>7.2f}"
        f" {cpu['server']:>8.1f} {cpu['database']:>6.1f} {cpu['client']:>6.1f}"
    )


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    count: int = arguments.subscribers
    raise_fd_limit(count * 2 + 256)
    server = servers.start(uri, workers=0, THREADLINE_PROCESSES=str(arguments.processes))
    await server.wait_until_ready()
    key = server.key()
    database = Database(uri, DATABASE_NAME)
    await database.connect()
    try:
        async with GraphQL(server.base_url, key) as gql:
            audiences = []
            for name in ("1 subscriber", f"{count} subscribers"):
                thread_id = await new_thread(gql)
                thread = await ThreadDocument.get(thread_id)
                assert thread is not None
                audiences.append(Audience(name, thread_id, thread.project_id))
        solo, crowd = audiences
        await measure(arguments, server.ws_url, key, solo, crowd, server.process.pid)
    finally:
        await database.close()


async def measure(
    arguments: argparse.Namespace,
    url: str,
    key: str | None,
    solo: Audience,
    crowd: Audience,
    server_pid: int,
) -> None:
    count: int = arguments.subscribers
    started = time.perf_counter()
    deflate = not arguments.no_deflate
    await connect(solo, url, key, 1, deflate)
    parts = arguments.client_processes
    shares = [count // parts + (index < count % parts) for index in range(parts)]
    if parts == 0:
        await connect(crowd, url, key, count, deflate)
    children = [await start_client(crowd, url, key, share, deflate) for share in shares]
    print(
        f"{1 + count} websockets opened and subscribed in {time.perf_counter() - started:.1f} s"
        f" ({len(children)} client processes)"
    )
    receivers = [
        asyncio.create_task(audience.receive(socket))
        for audience in (solo, crowd)
        for socket in audience.sockets
    ]
    receivers += [asyncio.create_task(relay(crowd, child)) for child in children]
    try:
        # Warm-up: every subscription is live once every subscriber has an event.
        for audience in (solo, crowd):
            for index in range(WARM_UP_EVENTS):
                sample = await send_one(audience, f" warm{index}")
                if len(sample.arrivals) != audience.size:
                    raise RuntimeError(f"{audience.name}: warm-up lost events: {audience.problems}")
        meter = CpuMeter(server_pid, client_pids=[child.pid for child in children])
        results: dict[str, list[Round]] = {solo.name: [], crowd.name: []}
        print(
            f"{arguments.rounds} rounds x {arguments.events} events per thread;"
            " latency = receive time - commit time, ms"
        )
        header = f"{'':<16} {'events':>6} {'samples':>8} {'p50':>7} {'p95':>7} {'last p50':>9}"
        print(f"{header} {'commit':>7} {'CPU ms/event: server':>8} {'db':>6} {'client':>6}")
        for number in range(1, arguments.rounds + 1):
            order = (solo, crowd) if number % 2 else (crowd, solo)
            for audience in order:
                row = await measure_round(audience, arguments.events, meter)
                results[audience.name].append(row)
                print_row(f"round {number} {'1' if audience is solo else count:>4}", [row])
        for audience in (solo, crowd):
            print_row(f"all {'1' if audience is solo else count:>4}", results[audience.name])
        for audience in (solo, crowd):
            for problem in audience.problems[:5]:
                print(f"problem ({audience.name}): {problem}")
        report(results[solo.name], results[crowd.name], count)
    finally:
        for child in children:
            if child.stdin is not None:
                child.stdin.close()  # it closes its sockets, tells its problems and ends
        await asyncio.gather(*(child.wait() for child in children))
        for task in receivers:
            task.cancel()
        await asyncio.gather(*receivers, return_exceptions=True)
        sockets = solo.sockets + crowd.sockets
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


async def start_client(
    audience: Audience, url: str, key: str | None, count: int, deflate: bool
) -> asyncio.subprocess.Process:
    """A process of its own holding `count` of the audience's subscribers, once they are all
    subscribed: one client loop receiving a thousand messages in turn would set the latency
    it measures. It reports each event's arrival times (its clock is this one: CLOCK_MONOTONIC)
    once all its subscribers have it."""
    command = [sys.executable, __file__, "--hold-subscribers", str(count), "--url", url]
    command += ["--thread", audience.thread_id] + ([] if deflate else ["--no-deflate"])
    environment = {**os.environ, KEY_VARIABLE: key or ""}
    child = await asyncio.create_subprocess_exec(
        *command, stdin=PIPE, stdout=PIPE, env=environment, limit=2**24
    )
    assert child.stdout is not None
    line = await child.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"a client process did not start: {line!r}")
    audience.elsewhere += count
    return child


async def relay(audience: Audience, child: asyncio.subprocess.Process) -> None:
    """A client process's reports, as if its subscribers were this process's."""
    assert child.stdout is not None
    async for line in child.stdout:
        report = json.loads(line)
        audience.problems += report.get("problems", [])
        for at in report.get("arrivals", []):
            audience.arrived(report["sequence"], at)


async def hold_subscribers(arguments: argparse.Namespace) -> None:
    """The client process's side of `start_client`: its reports are lines on stdout, and it
    ends when its stdin closes."""
    raise_fd_limit(arguments.hold_subscribers + 256)
    audience = Audience("part", arguments.thread, "")

    def everyone_has(sequence: int, arrivals: list[float]) -> None:
        print(json.dumps({"sequence": sequence, "arrivals": arrivals}), flush=True)

    audience.on_everyone = everyone_has
    key = os.environ.get(KEY_VARIABLE) or None
    deflate = not arguments.no_deflate
    await connect(audience, arguments.url, key, arguments.hold_subscribers, deflate)
    receivers = [asyncio.create_task(audience.receive(socket)) for socket in audience.sockets]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in receivers:
        task.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    await asyncio.gather(*(socket.close() for socket in audience.sockets), return_exceptions=True)
    print(json.dumps({"problems": audience.problems[:5]}), flush=True)


def report(solo: list[Round], crowd: list[Round], count: int) -> None:
    one = [value for row in solo for value in row.latencies_ms]
    many = [value for row in crowd for value in row.latencies_ms]
    p50_one, p95_one = percentile(one, 0.5), percentile(one, 0.95)
    p50_many, p95_many = percentile(many, 0.5), percentile(many, 0.95)
    print(f"1 subscriber:     p50 {p50_one:.2f} ms, p95 {p95_one:.2f} ms")
    print(f"{count} subscribers: p50 {p50_many:.2f} ms, p95 {p95_many:.2f} ms")
    per_round = [
        percentile(b.latencies_ms, 0.5) / percentile(a.latencies_ms, 0.5)
        for a, b in zip(solo, crowd, strict=True)
    ]
    print(f"p50 ratio {count}/1 per round: {', '.join(f'{r:.1f}' for r in per_round)}")
    print(f"latency at {count} subscribers is {p50_many / p50_one:.1f}x (p50) and ", end="")
    print(f"{p95_many / p95_one:.1f}x (p95) the latency at 1 subscriber")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Event latency, commit to websocket, at 1 and at N subscribers."
    )
    parser.add_argument("--subscribers", type=int, default=1000, help="the big audience")
    parser.add_argument("--events", type=int, default=40, help="events per round and thread")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per thread")
    parser.add_argument(
        "--no-deflate", action="store_true", help="websockets without permessage-deflate"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="the server's processes (THREADLINE_PROCESSES)"
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="processes holding the big audience's websockets (default 1; 0: this one)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100 subscribers")
    parser.add_argument("--hold-subscribers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--thread", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.hold_subscribers is not None:
        asyncio.run(hold_subscribers(arguments))
        return
    if arguments.quick:
        arguments.subscribers, arguments.events, arguments.rounds = 100, 10, 2
    if min(arguments.subscribers, arguments.events, arguments.rounds) < 1:
        parser.error("--subscribers, --events and --rounds must be at least 1")
    if not 0 <= arguments.client_processes <= arguments.subscribers:
        parser.error("--client-processes must be between 0 and --subscribers")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
