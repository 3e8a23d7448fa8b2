"""Assistant lookup: Threadline's GraphQL `assistant(id:)` and its REST `GET
/v1/assistants/{id}` against a bare FastAPI + PyMongo route.

One in-memory embedded database serves all three. Threadline (both faces, one server, the same
project key) and the bare app each run as a real uvicorn server (one worker, its own
subprocess) on a free loopback port; one asyncio load generator (httpx, fixed concurrency)
takes rounds of the three contenders in turn, the order rotated each round, so that noise hits
all of them.

    .venv/bin/python bench/assistant_lookup.py [--requests N] [--rounds R] [--concurrency C]
        [--quick] [--wrk SECONDS] [--floor]

With --wrk, each round is SECONDS of wrk (C, one thread, `--concurrency` connections) instead:
what the server can serve, not what a Python client can send.

With --floor, a fourth contender serves the same GraphQL query on the stack alone (FastAPI,
Strawberry's GraphQLRouter and its parser and validation caches, one resolver making the bare
route's `find_one`): how near the bare route any GraphQL server on this stack can come.

The bare app and the floor are this module's `create_bare_app` and
`create_strawberry_floor_app` factories, started by uvicorn with `--app-dir bench`; they read
their database and project from BENCH_* environment variables.
"""

# ruff: noqa: T201

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import strawberry
from fastapi import FastAPI, HTTPException
from pymongo import AsyncMongoClient
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import GraphQLRouter
from strawberry.scalars import JSON

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.keys import DEV_KEY_FILE, read_secret
from app.logging import configure_logging
from app.processes import die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DATABASE_NAME = "threadline_bench"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
LOOKUP_QUERY = (
    "query($id: ID!) { assistant(id: $id) "
    "{ id name model instructions tools { type } metadata createdAt } }"
)
CREATE_MUTATION = """
mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { id } }
"""
ASSISTANT_INPUT: dict[str, Any] = {
    "model": "threadline/scripted",
    "name": "Bench helper",
    "instructions": "Answer briefly.",
    "tools": [{"type": "CODE_INTERPRETER"}],
    "metadata": {"purpose": "bench"},
}

Send = Callable[[httpx.AsyncClient], Awaitable[None]]
Lookup = Callable[[str], Awaitable[dict[str, Any] | None]]


# --- The bare endpoint (runs in its own uvicorn process) -------------------------------------


def _bare_database() -> tuple[Callable[[FastAPI], AbstractAsyncContextManager[None]], Lookup]:
    """The lifespan of a floor app's one PyMongo client, and its one read: `find_one` scoped
    by project, as the BENCH_* environment variables name it."""
    uri = os.environ["BENCH_MONGODB_URI"]
    database_name = os.environ["BENCH_DATABASE_NAME"]
    project_id = os.environ["BENCH_PROJECT_ID"]
    clients: list[AsyncMongoClient[dict[str, Any]]] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
        clients.append(client)
        try:
            await client.admin.command("ping")
            yield
        finally:
            await client.close()

    async def find_assistant(assistant_id: str) -> dict[str, Any] | None:
        collection = clients[0][database_name]["assistants"]
        return await collection.find_one({"_id": assistant_id, "project_id": project_id})

    return lifespan, find_assistant


def create_bare_app() -> FastAPI:
    """`GET /assistants/{id}`: one `find_one` scoped by project, the same fields as JSON."""
    lifespan, find_assistant = _bare_database()
    app = FastAPI(title="bare assistant lookup", lifespan=lifespan)

    @app.get("/assistants/{assistant_id}")
    async def get_assistant(assistant_id: str) -> dict[str, Any]:
        document = await find_assistant(assistant_id)
        if document is None:
            raise HTTPException(status_code=404, detail="no such assistant")
        return {
            "id": document["_id"],
            "name": document.get("name"),
            "model": document["model"],
            "instructions": document.get("instructions"),
            "tools": [{"type": tool["type"]} for tool in document.get("tools", [])],
            "metadata": document.get("metadata", {}),
            "createdAt": document["created_at"].isoformat(),
        }

    return app


@strawberry.type
class FloorTool:
    type: str


@strawberry.type
class FloorAssistant:
    id: strawberry.ID
    name: str | None
    model: str
    instructions: str | None
    tools: list[FloorTool]
    metadata: JSON
    created_at: datetime


def create_strawberry_floor_app() -> FastAPI:
    """`--floor`: the GraphQL query on the stack alone. FastAPI and Strawberry's GraphQLRouter
    as Threadline serves them, Strawberry's parser and validation caches, and one resolver
    making the bare route's `find_one`: no key, no limits, no extensions of Threadline's."""
    lifespan, find_assistant = _bare_database()

    @strawberry.type
    class Query:
        @strawberry.field
        async def assistant(self, id: strawberry.ID) -> FloorAssistant | None:
            document = await find_assistant(str(id))
            if document is None:
                return None
            return FloorAssistant(
                id=strawberry.ID(document["_id"]),
                name=document.get("name"),
                model=document["model"],
                instructions=document.get("instructions"),
                tools=[FloorTool(type=tool["type"].upper()) for tool in document.get("tools", [])],
                metadata=document.get("metadata", {}),
                created_at=document["created_at"],
            )

    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
    )
    app = FastAPI(title="Strawberry assistant lookup", lifespan=lifespan)
    app.include_router(GraphQLRouter(schema), prefix="/graphql")
    return app


# --- Processes -------------------------------------------------------------------------------


@dataclass
class Server:
    process: "subprocess.Popen[bytes]"
    base_url: str

    async def wait_until_ready(self, probe: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with code {self.process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if await probe():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.base_url} did not become ready in time")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_uvicorn(
    target: str,
    port: int,
    env: dict[str, str],
    app_dir: str = ".",
    quiet: bool = False,
    options: Sequence[str] = (),
) -> Server:
    """`quiet`: its output (a log line per request at INFO) goes to /dev/null. `options`:
    more of uvicorn's command-line options."""
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--app-dir", app_dir]
    command += ["--host", HOST, "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log", *options]
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        preexec_fn=die_with_parent,
        stdout=output,
        stderr=output,
    )
    return Server(process, f"http://{HOST}:{port}")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid() -> int | None:
    """The embedded database: the child process of this one that runs `secantus`."""
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                if b"secantus" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
    return None


# --- Load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as wrk sends it, over and over."""

    method: str
    url: str
    headers: dict[str, str]
    body: str = ""

    def script(self) -> str:
        """wrk's Lua: this request, and the latency percentiles and counts printed at the end."""
        lines = [f"wrk.method = {json.dumps(self.method)}", f"wrk.body = {json.dumps(self.body)}"]
        lines += [
            f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in self.headers.items()
        ]
        lines.append(
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("WRK %d %d %d %f %f\\n", summary.requests,'
            " summary.duration, summary.errors.status + summary.errors.connect"
            " + summary.errors.read + summary.errors.write + summary.errors.timeout,"
            " latency:percentile(50), latency:percentile(95)))\nend"
        )
        return "\n".join(lines) + "\n"


@dataclass
class RoundResult:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    server_cpu_ms: float  # CPU per request, of the server process
    database_cpu_ms: float  # CPU per request, of the embedded database
    client_cpu_ms: float  # CPU per request, of this load generator

    @classmethod
    def of(
        cls, requests: float, seconds: float, p50: float, p95: float, cpu: tuple[float, ...]
    ) -> "RoundResult":
        """From a round's count, duration and latencies (seconds), and the CPU seconds the
        server, the database and the load generator spent on it."""
        server, database, client = (spent * 1000 / requests for spent in cpu)
        return cls(requests / seconds, p50 * 1000, p95 * 1000, server, database, client)


async def run_round(
    client: httpx.AsyncClient,
    send: Send,
    requests: int,
    concurrency: int,
    pids: tuple[int | None, int | None] = (None, None),
) -> RoundResult:
    """`requests` requests, `concurrency` at a time; each worker takes the next until none left."""
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await send(client)
            latencies.append(time.perf_counter() - started)

    client_cpu = time.process_time()
    with cpu_spent(pids) as spent:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return RoundResult.of(requests, elapsed, cuts[49], cuts[94], (*spent, client_cpu))


@contextlib.contextmanager
def cpu_spent(pids: tuple[int | None, int | None]) -> Iterator[list[float]]:
    """The CPU seconds each of these processes (server, database) uses inside the block."""
    before = [cpu_seconds(pid) for pid in pids]
    spent: list[float] = []
    yield spent
    spent.extend(cpu_seconds(pid) - used for pid, used in zip(pids, before, strict=True))


def wrk_round(
    request: Request, seconds: float, concurrency: int, pids: tuple[int | None, int | None]
) -> RoundResult:
    """`concurrency` connections of wrk (one thread: it is C, and the cores are shared) for
    `seconds`: the server's limit, not a Python client's. Only status codes are checked; the
    answers were compared before the rounds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(request.script())
        script.flush()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", script.name]
        with cpu_spent(pids) as spent:
            done = subprocess.run(
                [*command, request.url],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK "))
    count, micros, errors, p50_us, p95_us = (float(part) for part in line.split()[1:])
    if errors or not count:
        raise RuntimeError(f"wrk: {errors:.0f} failed of {count:.0f} requests to {request.url}")
    client_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return RoundResult.of(count, micros / 1e6, p50_us / 1e6, p95_us / 1e6, (*spent, client_cpu))


def graphql_sender(assistant_id: str) -> Send:
    body = json.dumps({"query": LOOKUP_QUERY, "variables": {"id": assistant_id}}).encode()
    headers = {"content-type": "application/json"}

    async def send(client: httpx.AsyncClient) -> None:
        response = await client.post("/graphql", content=body, headers=headers)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"GraphQL lookup failed: {response.status_code} {response.text}")

    return send


def get_sender(path: str, label: str) -> Send:
    """A GET of `path`: OpenAI's `GET /v1/assistants/{id}` (the whole assistant object, as the
    SDK reads it), or the bare app's route."""

    async def send(client: httpx.AsyncClient) -> None:
        response = await client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{label} lookup failed: {response.status_code} {response.text}")

    return send


def http_client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0)


# --- The run ---------------------------------------------------------------------------------


async def create_assistant(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/graphql", json={"query": CREATE_MUTATION, "variables": {"input": ASSISTANT_INPUT}}
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"createAssistant failed: {response.status_code} {body}")
    assistant_id: str = body["data"]["createAssistant"]["id"]
    return assistant_id


async def project_of(uri: str, assistant_id: str) -> str:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        document = await client[DATABASE_NAME]["assistants"].find_one({"_id": assistant_id})
    finally:
        await client.close()
    if document is None:
        raise RuntimeError(f"assistant {assistant_id} is not in the database")
    project_id: str = document["project_id"]
    return project_id


async def check_same_answer(
    threadline: httpx.AsyncClient, bare: httpx.AsyncClient, assistant_id: str
) -> None:
    """Both endpoints return the same assistant (GraphQL spells enum values in capitals)."""
    variables = {"id": assistant_id}
    graphql = (
        await threadline.post("/graphql", json={"query": LOOKUP_QUERY, "variables": variables})
    ).json()
    expected = graphql["data"]["assistant"]
    actual = (await bare.get(f"/assistants/{assistant_id}")).json()
    actual["tools"] = [{"type": tool["type"].upper()} for tool in actual["tools"]]
    if actual != expected:
        raise RuntimeError(f"the endpoints disagree:\n  graphql {expected}\n  bare    {actual}")
    # REST answers OpenAI's whole object (more fields, unix seconds): the shared ones agree.
    rest = (await threadline.get(f"/v1/assistants/{assistant_id}")).json()
    created = int(datetime.fromisoformat(expected["createdAt"]).timestamp())
    shared = {
        "id": rest.get("id"),
        "name": rest.get("name"),
        "model": rest.get("model"),
        "instructions": rest.get("instructions"),
        "tools": [{"type": tool["type"].upper()} for tool in rest.get("tools", [])],
        "metadata": rest.get("metadata"),
        "createdAt": rest.get("created_at"),
    }
    if shared != {**expected, "createdAt": created}:
        raise RuntimeError(f"the endpoints disagree:\n  graphql {expected}\n  rest    {rest}")


async def bench(
    arguments: argparse.Namespace, uri: str, state: Path, servers: list[Server]
) -> None:
    concurrency: int = arguments.concurrency
    threadline = start_uvicorn(
        "app.main:create_app",
        free_port(),
        {
            "THREADLINE_MONGODB_URI": uri,
            "THREADLINE_DATABASE_NAME": DATABASE_NAME,
            "THREADLINE_LOG_LEVEL": "WARNING",
            "THREADLINE_STATE_DIR": str(state),
            "THREADLINE_RATE_LIMIT": "",  # the load would pass any per-key limit
            "THREADLINE_MAX_CONCURRENT_PER_KEY": "0",
        },
    )
    servers.append(threadline)
    async with http_client(threadline.base_url, concurrency) as threadline_client:

        async def threadline_ready() -> bool:
            response = await threadline_client.post("/graphql", json={"query": "{ __typename }"})
            return response.status_code == 200

        await threadline.wait_until_ready(threadline_ready)
        # The default project's key, made by the server's first start.
        dev_key = read_secret(state / DEV_KEY_FILE)
        threadline_client.headers["authorization"] = f"Bearer {dev_key}"
        assistant_id = await create_assistant(threadline_client)
        project_id = await project_of(uri, assistant_id)

        bare_environment = {
            "BENCH_MONGODB_URI": uri,
            "BENCH_DATABASE_NAME": DATABASE_NAME,
            "BENCH_PROJECT_ID": project_id,
        }
        bare = start_uvicorn(
            "assistant_lookup:create_bare_app", free_port(), bare_environment, app_dir="bench"
        )
        servers.append(bare)
        async with http_client(bare.base_url, concurrency) as bare_client:

            async def bare_ready() -> bool:
                response = await bare_client.get(f"/assistants/{assistant_id}")
                return response.status_code == 200

            await bare.wait_until_ready(bare_ready)
            await check_same_answer(threadline_client, bare_client, assistant_id)
            print(f"the three endpoints return assistant {assistant_id} alike")
            pid = threadline.process.pid
            keyed = {"authorization": f"Bearer {dev_key}"}
            lookup = {"query": LOOKUP_QUERY, "variables": {"id": assistant_id}}
            rest_path, bare_path = f"/v1/assistants/{assistant_id}", f"/assistants/{assistant_id}"
            targets = [
                Target(
                    "graphql",
                    threadline_client,
                    graphql_sender(assistant_id),
                    pid,
                    Request(
                        "POST",
                        f"{threadline.base_url}/graphql",
                        {**keyed, "content-type": "application/json"},
                        json.dumps(lookup),
                    ),
                ),
                Target(
                    "rest",
                    threadline_client,
                    get_sender(rest_path, "REST"),
                    pid,
                    Request("GET", f"{threadline.base_url}{rest_path}", keyed),
                ),
                Target(
                    "bare",
                    bare_client,
                    get_sender(bare_path, "bare"),
                    bare.process.pid,
                    Request("GET", f"{bare.base_url}{bare_path}", {}),
                ),
            ]
            if not arguments.floor:
                await measure(arguments, targets)
                return
            floor = start_uvicorn(
                "assistant_lookup:create_strawberry_floor_app",
                free_port(),
                bare_environment,
                app_dir="bench",
                quiet=True,  # Strawberry logs each request wrk cuts off at a round's end
            )
            servers.append(floor)
            async with http_client(floor.base_url, concurrency) as floor_client:

                async def floor_ready() -> bool:
                    response = await floor_client.post("/graphql", json=lookup)
                    return response.status_code == 200

                await floor.wait_until_ready(floor_ready)
                # The data alike (Threadline's answer also reports the query's cost).
                expected = (await threadline_client.post("/graphql", json=lookup)).json()["data"]
                actual = (await floor_client.post("/graphql", json=lookup)).json()["data"]
                if actual != expected:
                    raise RuntimeError(f"the floor disagrees:\n  {expected}\n  {actual}")
                print("the Strawberry floor returns it alike")
                floor_request = Request(
                    "POST",
                    f"{floor.base_url}/graphql",
                    {"content-type": "application/json"},
                    json.dumps(lookup),
                )
                floor_target = Target(
                    "strawberry",
                    floor_client,
                    graphql_sender(assistant_id),
                    floor.process.pid,
                    floor_request,
                )
                await measure(arguments, [*targets, floor_target], RATIOS + FLOOR_RATIOS)


@dataclass
class Target:
    name: str
    client: httpx.AsyncClient
    send: Send
    pid: int
    request: Request | None = None  # for --wrk


# The ratios printed at the end: (numerator, denominator), each a contender's name.
RATIOS = (("rest", "bare"), ("graphql", "bare"), ("rest", "graphql"))
FLOOR_RATIOS = (("strawberry", "bare"), ("graphql", "strawberry"))


async def measure(
    arguments: argparse.Namespace,
    targets: list[Target],
    ratios: tuple[tuple[str, str], ...] = RATIOS,
) -> None:
    requests: int = arguments.requests
    rounds: int = arguments.rounds
    concurrency: int = arguments.concurrency
    seconds: float = arguments.wrk
    db_pid = database_pid()
    each = f"{seconds:g} s of wrk" if seconds else f"{requests} requests"
    print(f"{rounds} rounds x {each} per contender, {concurrency} in flight")
    for target in targets:  # warm-up: connections, caches, lazy imports
        await run_round(target.client, target.send, max(requests // 4, concurrency), concurrency)

    results: dict[str, list[RoundResult]] = {target.name: [] for target in targets}
    print(
        f"{'round':>5}  {'contender':<10}  {'req/s':>6}  {'p50 ms':>6}  {'p95 ms':>6}"
        f"  {'CPU ms/request: server':>22}  {'database':>8}  {'client':>6}"
    )
    for number in range(1, rounds + 1):
        # The order rotates (A B C, B C A, C A B, …): no contender always runs first.
        shift = (number - 1) % len(targets)
        for target in targets[shift:] + targets[:shift]:
            pids = (target.pid, db_pid)
            if seconds:
                if target.request is None:
                    raise SystemExit(f"--wrk: no request for {target.name}")
                row = wrk_round(target.request, seconds, concurrency, pids)
            else:
                row = await run_round(target.client, target.send, requests, concurrency, pids)
            results[target.name].append(row)
            print(
                f"{number:>5}  {target.name:<10}  {row.requests_per_second:>6.0f}  "
                f"{row.p50_ms:>6.1f}  {row.p95_ms:>6.1f}  {row.server_cpu_ms:>22.2f}"
                f"  {row.database_cpu_ms:>8.2f}  {row.client_cpu_ms:>6.2f}"
            )

    for name, rows in results.items():
        print(
            f"median {name:<10}  {statistics.median(r.requests_per_second for r in rows):>6.0f}"
            f"  {statistics.median(r.p50_ms for r in rows):>6.1f}"
            f"  {statistics.median(r.p95_ms for r in rows):>6.1f}"
            f"  {statistics.median(r.server_cpu_ms for r in rows):>22.2f}"
            f"  {statistics.median(r.database_cpu_ms for r in rows):>8.2f}"
            f"  {statistics.median(r.client_cpu_ms for r in rows):>6.2f}"
        )
    report_ratios(results, ratios)
    print("load average (1, 5, 15 min) at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def median_ratio(
    mine: list[RoundResult], theirs: list[RoundResult], value: Callable[[RoundResult], float]
) -> float:
    """The median of the per-round ratios (rounds where the denominator is 0 are left out)."""
    ratios = [value(a) / value(b) for a, b in zip(mine, theirs, strict=True) if value(b)]
    return statistics.median(ratios) if ratios else float("nan")


def report_ratios(
    results: dict[str, list[RoundResult]], ratios: tuple[tuple[str, str], ...]
) -> None:
    print("ratios, median of the per-round ratios:")
    print(f"{'':<18}  {'req/s':>6}  {'p50':>6}  {'p95':>6}  {'server CPU/request':>18}")
    for top, bottom in ratios:
        if top not in results or bottom not in results:
            continue
        mine, theirs = results[top], results[bottom]
        print(
            f"{top + '/' + bottom:<18}"
            f"  {median_ratio(mine, theirs, lambda r: r.requests_per_second):>6.2f}"
            f"  {median_ratio(mine, theirs, lambda r: r.p50_ms):>6.2f}"
            f"  {median_ratio(mine, theirs, lambda r: r.p95_ms):>6.2f}"
            f"  {median_ratio(mine, theirs, lambda r: r.server_cpu_ms):>18.2f}"
        )
    for name in ("rest", "graphql"):
        if name in results and "bare" in results:
            share = median_ratio(results[name], results["bare"], lambda r: r.requests_per_second)
            print(f"Threadline's {name} lookup serves {share:.2f}x the bare endpoint's requests/s")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


Bench = Callable[[str, Path, list[Server]], Coroutine[Any, Any, None]]


def run_with_database(bench: Bench) -> None:
    """Starts an in-memory embedded database and a state dir, runs `bench(uri, state,
    servers)`, then stops every server it started and the database, however it ends
    (Ctrl-C and SIGTERM exit with 130)."""
    configure_logging("WARNING")
    signal.signal(signal.SIGTERM, _interrupt)
    database = EmbeddedDatabase(MEMORY)
    servers: list[Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="threadline-bench-") as state:
            try:
                uri = database.start()
                asyncio.run(bench(uri, Path(state), servers))
            finally:
                for server in reversed(servers):
                    server.stop()
                database.stop()
    except KeyboardInterrupt:
        print("interrupted: servers and database stopped", file=sys.stderr)
        sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Threadline (GraphQL, REST) vs bare FastAPI + PyMongo: assistant lookups/s."
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="a fourth contender: the same GraphQL query on FastAPI + Strawberry alone",
    )
    arguments = load_arguments(parser, argv)
    run_with_database(lambda uri, state, servers: bench(arguments, uri, state, servers))


def load_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The load every lookup bench takes: --requests, --rounds, --concurrency, --quick."""
    parser.add_argument("--requests", type=int, default=1000, help="per round and contender")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per contender")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds x 300")
    parser.add_argument(
        "--wrk",
        type=float,
        default=0,
        metavar="SECONDS",
        help="each round is SECONDS of wrk (apt install wrk) instead of this Python client",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.requests, arguments.rounds = 300, 3
    if arguments.requests < 1 or arguments.rounds < 1 or arguments.concurrency < 1:
        parser.error("--requests, --rounds and --concurrency must be at least 1")
    return arguments


if __name__ == "__main__":
    main()
