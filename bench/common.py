"""What the run-engine benchmarks share: an in-memory embedded database, a real `threadline run`
server subprocess, GraphQL over HTTP and over websockets (graphql-transport-ws), CPU counters
and percentiles.

Credentials live in one place: `auth_headers` and `init_payload` turn an optional API key into
the `Authorization` header and the websocket `connection_init` payload. `ThreadlineServer.key`
finds the key: THREADLINE_BENCH_KEY if set, else the `dev-key` file the server writes into its
own (temporary) state dir, else none (a server without authentication).
"""

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import websockets
from assistant_lookup import Server, cpu_seconds, database_pid, run_with_database
from bson import ObjectId
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from app.processes import die_with_parent, free_port

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DATABASE_NAME = "threadline_bench"
KEY_ENV = "THREADLINE_BENCH_KEY"
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SCRIPTED_MODEL = "threadline/scripted"
CREATE_ASSISTANT = (
    "mutation($input: CreateAssistantInput!) { createAssistant(input: $input) { id } }"
)
CREATE_THREAD = "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }"
RUN_EVENTS = "subscription($id: ID!) { runEvents(runId: $id) { sequence event } }"
RUN_ENDED = frozenset(
    f"thread.run.{status}"
    for status in ("completed", "failed", "cancelled", "expired", "incomplete")
)

Json = dict[str, Any]


# --- Credentials: the one place that knows how a key is sent ---------------------------------


def auth_headers(key: str | None) -> dict[str, str]:
    """HTTP headers for a request made with `key` (none without a key)."""
    return {"authorization": f"Bearer {key}"} if key else {}


def init_payload(key: str | None) -> Json:
    """The websocket `connection_init` payload for `key`."""
    return {"authorization": f"Bearer {key}"} if key else {}


# --- The server ------------------------------------------------------------------------------


def threadline_command() -> list[str]:
    """`.venv/bin/threadline` next to this interpreter (else the same CLI via `-m`)."""
    script = Path(sys.executable).parent / "threadline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


@dataclass
class ThreadlineServer(Server):
    """One `threadline run` subprocess with a state dir of its own."""

    port: int
    state_dir: Path

    @classmethod
    def start(cls, uri: str, workers: int, **env: str) -> "ThreadlineServer":
        port = free_port(HOST)
        state_dir = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
        variables = {
            **os.environ,
            "THREADLINE_MONGODB_URI": uri,
            "THREADLINE_DATABASE_NAME": DATABASE_NAME,
            "THREADLINE_HOST": HOST,
            "THREADLINE_PORT": str(port),
            "THREADLINE_WORKERS": str(workers),
            "THREADLINE_STATE_DIR": str(state_dir),
            "THREADLINE_LOG_LEVEL": "WARNING",
            # No per-key rate limit: the load is the point ("" switches it off).
            "THREADLINE_RATE_LIMIT": "",
            # Nor a bound on what one key has in flight or open (0 switches them off).
            "THREADLINE_MAX_CONCURRENT_PER_KEY": "0",
            "THREADLINE_WS_MAX_CONNECTIONS_PER_KEY": "0",
            # One server process, so that its pid's CPU is the whole server's.
            "THREADLINE_PROCESSES": "1",
            **env,
        }
        # Its output (keys announced on first start, warnings) goes to a log, shown on failure.
        with (state_dir / "server.log").open("wb") as log:
            process = subprocess.Popen(
                [*threadline_command(), "run"],
                cwd=ROOT,
                env=variables,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        return cls(process, f"http://{HOST}:{port}", port, state_dir)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = (self.state_dir / "server.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/graphql"

    def key(self) -> str | None:
        given = os.environ.get(KEY_ENV)
        if given:
            return given
        with contextlib.suppress(OSError):
            return (self.state_dir / "dev-key").read_text().strip() or None
        return None

    async def wait_until_ready(self, probe: Callable[[], Awaitable[bool]] | None = None) -> None:
        """uvicorn listens only once the lifespan (database, workers) has started, so any
        HTTP answer at all means ready, whether or not it asks for a key."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0) as client:

            async def answers() -> bool:
                await client.post("/graphql", json={"query": "{ __typename }"})
                return True

            try:
                await super().wait_until_ready(probe or answers)
            except RuntimeError as error:
                raise RuntimeError(f"{error}:\n{self.log_tail()}") from None

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)


# --- GraphQL over HTTP -----------------------------------------------------------------------


class GraphQLFailed(RuntimeError):
    pass


def keyed_client(
    base_url: str, key: str | None, connections: int = 16, timeout: float = 120.0
) -> httpx.AsyncClient:
    """An HTTP client sending the key, with at most `connections` open."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url, headers=auth_headers(key), limits=limits, timeout=timeout
    )


class GraphQL:
    """POST /graphql with the key's headers; `await gql(query, **variables)` is the data."""

    def __init__(self, base_url: str, key: str | None, concurrency: int = 16) -> None:
        self.http = keyed_client(base_url, key, concurrency)

    async def __call__(self, query: str, **variables: Any) -> Json:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: Json = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLFailed(f"{response.status_code}: {body.get('errors') or body}")
        data: Json = body["data"]
        return data

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.http.aclose()


async def new_assistant(gql: GraphQL) -> str:
    data = await gql(
        CREATE_ASSISTANT,
        input={"model": SCRIPTED_MODEL, "name": "Bench", "instructions": "Answer briefly."},
    )
    return str(data["createAssistant"]["id"])


async def new_thread(gql: GraphQL, messages: Sequence[str] = ()) -> str:
    thread = {"messages": [{"content": text} for text in messages]}
    data = await gql(CREATE_THREAD, input=thread)
    return str(data["createThread"]["id"])


# --- GraphQL over websockets (graphql-transport-ws) ------------------------------------------


async def open_socket(url: str, key: str | None, deflate: bool = True) -> ClientConnection:
    """A websocket past `connection_ack`, offering permessage-deflate as browsers do (unless
    `deflate` is false). No websocket-level pings: a client loop busy with 1,000 sockets must
    not time them out."""
    socket = await websockets.connect(
        url,
        subprotocols=[TRANSPORT_WS],
        compression="deflate" if deflate else None,
        open_timeout=60,
        ping_interval=None,
        max_queue=None,
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": init_payload(key)}))
    while True:
        message = json.loads(await socket.recv())
        if message["type"] == "connection_ack":
            return socket
        if message["type"] == "ping":
            await socket.send(json.dumps({"type": "pong"}))
        elif message["type"] != "ka":
            await socket.close()
            raise RuntimeError(f"the websocket was refused: {message}")


async def start_subscription(
    socket: ClientConnection, operation: str, query: str, **variables: Any
) -> None:
    payload = {"query": query, "variables": variables}
    await socket.send(json.dumps({"type": "subscribe", "id": operation, "payload": payload}))


async def next_message(socket: ClientConnection, operation: str) -> Json:
    """The next `next`/`error`/`complete` message of `operation` (answering pings)."""
    while True:
        message: Json = json.loads(await socket.recv())
        if message.get("type") == "ping":
            await socket.send(json.dumps({"type": "pong"}))
        elif message.get("id") == operation:
            if message["type"] == "error" or message.get("payload", {}).get("errors"):
                raise GraphQLFailed(f"subscription {operation}: {message}")
            return message


async def wait_for_run_end(
    socket: ClientConnection, run_id: str, on_event: Callable[[str], None] | None = None
) -> str:
    """Subscribes to `runEvents(run_id)` (replay, then live) until it completes; the run's
    terminal event name. `on_event` sees each event name as it arrives."""
    await start_subscription(socket, run_id, RUN_EVENTS, id=run_id)
    ended = ""
    while True:
        message = await next_message(socket, run_id)
        if message["type"] == "complete":
            return ended
        name = str(message["payload"]["data"]["runEvents"]["event"])
        if on_event is not None:
            on_event(name)
        if name in RUN_ENDED:
            ended = name


# --- Measuring -------------------------------------------------------------------------------


# Fields naming another document: renamed in a copy, so that unique indexes hold.
REFERENCES = ("thread_id", "run_id", "vector_store_id", "file_id", "files_id", "message_id")


def copied(original: Json, tag: str, project_id: str | None = None) -> Json:
    """A stored document again, for seeding: its id and every id it refers to get `tag`
    appended, so that the copies of one set (one tag) refer to each other; a run is history
    (not active: one active run per thread); with `project_id`, it belongs there."""
    copy = dict(original)
    identifier = original["_id"]
    copy["_id"] = f"{identifier}_{tag}" if isinstance(identifier, str) else ObjectId()
    if project_id is not None and "project_id" in copy:
        copy["project_id"] = project_id
    for reference in REFERENCES:
        if isinstance(copy.get(reference), str):
            copy[reference] = f"{copy[reference]}_{tag}"
    if "active" in copy:
        copy["active"] = False
    return copy


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class CpuMeter:
    """CPU seconds used by the server, the database and the client (this process and
    `client_pids`) between `start` and `stop`."""

    server_pid: int | None
    db_pid: int | None = field(default_factory=database_pid)
    client_pids: list[int] = field(default_factory=list)  # client processes besides this one
    used: dict[str, float] = field(default_factory=dict)
    _marks: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        return {
            "server": server_cpu_seconds(self.server_pid),
            "database": cpu_seconds(self.db_pid),
            "client": time.process_time() + sum(map(cpu_seconds, self.client_pids)),
        }

    def start(self) -> None:
        self._marks = self._now()

    def stop(self) -> None:
        now = self._now()
        self.used = {name: now[name] - self._marks[name] for name in now}


def server_cpu_seconds(pid: int | None) -> float:
    """A `threadline run`'s CPU time and its server processes' (THREADLINE_PROCESSES > 1)."""
    if pid is None:
        return 0.0
    total = cpu_seconds(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += cpu_seconds(int(child))
    return total


async def opcounters(client: AsyncMongoClient[Json]) -> dict[str, int]:
    """The database's operation counters (serverStatus), as mongod reports them."""
    status = await client.admin.command("serverStatus")
    counters: dict[str, int] = status.get("opcounters", {})
    return {name: int(value) for name, value in counters.items()}


def raise_fd_limit(wanted: int) -> None:
    """Lifts this process's open-file limit towards `wanted` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


# --- Running a bench -------------------------------------------------------------------------


class Servers:
    """Starts servers into the list `run_with_database` stops when the bench ends."""

    def __init__(self, started: list[Server]) -> None:
        self.started = started

    def start(self, uri: str, workers: int, **env: str) -> ThreadlineServer:
        server = ThreadlineServer.start(uri, workers, **env)
        self.started.append(server)
        return server


def run_bench(bench: Callable[[str, Servers], Coroutine[Any, Any, None]]) -> None:
    """Runs `bench(uri, servers)` on an in-memory embedded database; see run_with_database."""
    run_with_database(lambda uri, _state, started: bench(uri, Servers(started)))
