"""Past one process, for real: `threadline run` with several processes on one port, and the
deployment the README describes (servers and workers on one database) sharing runs, events and
rate limits."""

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol

from app.keys import DEV_KEY_FILE, read_secret
from app.processes import free_port
from tests.graphql import GraphQLClient
from tests.processes import THREADLINE, http_url, server, worker
from tests.runs import new_assistant, start_run, wait_for, wait_until_streaming
from tests.servers import until, wait_until_serving
from tests.test_subscriptions import collect_run
from tests.ws import TRANSPORT_WS

pytestmark = pytest.mark.slow
RATE_QUERY = "{ assistants(first: 1) { nodes { id } } }"
# 15 words, 200 ms apart: a run that lasts about 3 s.
WORDS = " ".join(f"w{i}" for i in range(15))
SLOW = f"/slow 200\n{WORDS}"


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def server_processes(pid: int) -> list[int]:
    """The uvicorn worker processes of a `threadline run` (not its database)."""
    return [
        child
        for child in children(pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def start(state: Path, port: int, log: Path, processes: int) -> subprocess.Popen[bytes]:
    """`threadline run` on the embedded database in `state`."""
    env = {name: value for name, value in os.environ.items() if name != "THREADLINE_MONGODB_URI"}
    env.update(
        THREADLINE_STATE_DIR=str(state),
        THREADLINE_PORT=str(port),
        THREADLINE_PROCESSES=str(processes),
    )
    with log.open("ab") as out:
        return subprocess.Popen([THREADLINE, "run"], env=env, stdout=out, stderr=out)


async def run_to_completion(base_url: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as http:
        gql = GraphQLClient(http)
        run = await start_run(gql, await new_assistant(gql), "hello")
        assert (await wait_for(gql, run["id"], timeout=60))["status"] == "COMPLETED"


@pytest.mark.timeout(240)
def test_run_serves_with_several_processes_and_they_end_with_it(tmp_path: Path) -> None:
    state, port, log = tmp_path / "state", free_port(), tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    process = start(state, port, log, processes=2)
    try:
        wait_until_serving(f"{url}/graphql", process, log)
        key = read_secret(state / DEV_KEY_FILE)
        assert len(log.read_text().split("Threadline dev key")) == 2  # made once, not per process
        servers = server_processes(process.pid)
        assert len(servers) == 2
        for _ in range(4):  # several connections, so both processes take some
            asyncio.run(run_to_completion(url, key))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
        assert not any(alive(pid) for pid in servers)

        # Killed outright, its processes go with it (and free the port and the database).
        process = start(state, port, log, processes=2)
        wait_until_serving(f"{url}/graphql", process, log)
        servers = server_processes(process.pid)
        assert len(servers) == 2
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in servers):
            assert time.monotonic() < deadline, "a server process outlived `threadline run`"
            time.sleep(0.05)
        process = start(state, port, log, processes=1)
        wait_until_serving(f"{url}/graphql", process, log)
        asyncio.run(run_to_completion(url, key))  # same key: the same database, kept
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


@pytest.mark.timeout(240)
async def test_two_servers_and_two_workers_on_one_database(
    mongodb_uri: str, tmp_path: Path
) -> None:
    database = "threadline_deployment"
    settings: dict[str, Any] = {"rate_limit": "100000/second"}
    with (
        server(mongodb_uri, database, tmp_path, **settings) as first,
        server(mongodb_uri, database, tmp_path, **settings) as second,
        worker(mongodb_uri, database, tmp_path, "worker-1", workers=2),
        worker(mongodb_uri, database, tmp_path, "worker-2", workers=2),
    ):
        headers = {"Authorization": first.payload["authorization"]}
        async with (
            httpx.AsyncClient(base_url=http_url(first), headers=headers, timeout=10) as one,
            httpx.AsyncClient(base_url=http_url(second), headers=headers, timeout=10) as two,
        ):
            gql = [GraphQLClient(one), GraphQLClient(two)]
            assistant = await new_assistant(gql[0])
            # Four slow runs at once, created through both servers: each worker takes at most
            # two, so both are running some.
            runs = [await start_run(gql[n % 2], assistant, SLOW) for n in range(4)]
            for n, run in enumerate(runs):
                await wait_until_streaming(gql[(n + 1) % 2], run["id"])
            owners = await lease_owners(mongodb_uri, database, [run["id"] for run in runs])
            assert len(owners) == 2, owners
            for n, run in enumerate(runs):
                done = await wait_for(gql[(n + 1) % 2], run["id"], timeout=60)
                assert done["status"] == "COMPLETED"
            # A run created through one server, followed as it runs through the other.
            run = await start_run(gql[0], assistant, SLOW)
            events = await collect_run(second, run["id"])
            assert events[-1]["event"] == "thread.run.completed"
            told = "".join(e["textDelta"] for e in events if e["event"] == "thread.message.delta")
            assert told == f"You said: {WORDS}"


@asynccontextmanager
async def database_of(uri: str, name: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """The servers' database, read directly."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        yield client[name]
    finally:
        await client.close()


async def lease_owners(uri: str, database: str, run_ids: list[str]) -> set[str]:
    async with database_of(uri, database) as db:
        runs = db["runs"].find({"_id": {"$in": run_ids}}, {"lease": 1})
        return {run["lease"]["owner"] async for run in runs if run.get("lease")}


async def shared_hits(uri: str, database: str) -> int:
    async with database_of(uri, database) as db:
        counts = db["rate_counts"].find({"_id": {"$regex": r"^api-key\|"}})
        return sum([count["hits"] async for count in counts])


@pytest.mark.timeout(240)
async def test_two_servers_share_a_keys_rate_limit(mongodb_uri: str, tmp_path: Path) -> None:
    # Fixed windows of an hour: started clear of the next one, the test stays in one window.
    hour = 3600
    while time.time() % hour > hour - 60:
        await asyncio.sleep(1)
    database = "threadline_shared_limit"
    settings = {"rate_limit": "10/hour", "rate_limit_sync_seconds": 0.05}
    with (
        server(mongodb_uri, database, tmp_path, **settings) as first,
        server(mongodb_uri, database, tmp_path, **settings) as second,
    ):
        headers = {"Authorization": first.payload["authorization"]}
        async with (
            httpx.AsyncClient(base_url=http_url(first), headers=headers, timeout=10) as one,
            httpx.AsyncClient(base_url=http_url(second), headers=headers, timeout=10) as two,
        ):
            for _ in range(7):
                answer = (await one.post("/graphql", json={"query": RATE_QUERY})).json()
                assert "errors" not in answer, answer
            # The first server has told the database of its seven.
            await until(lambda: has_hits(mongodb_uri, database, 7))
            # The second lets through what is left of the ten, then refuses.
            answers = [
                (await two.post("/graphql", json={"query": RATE_QUERY})).json() for _ in range(4)
            ]
            assert ["errors" in answer for answer in answers] == [False, False, False, True]
            refusal = answers[-1]["errors"][0]
            assert refusal["extensions"]["code"] == "RATE_LIMITED", refusal
            assert 1 <= refusal["extensions"]["retryAfterSeconds"] <= hour
            await until(lambda: has_hits(mongodb_uri, database, 10))
            # /v1 shares the key's count.
            refused = await two.get("/v1/assistants", headers={"OpenAI-Beta": "assistants=v2"})
            assert refused.status_code == 429


async def has_hits(uri: str, database: str, hits: int) -> bool:
    found = await shared_hits(uri, database)
    assert found <= hits
    return found == hits


@pytest.mark.parametrize("deflate", [True, False])
async def test_permessage_deflate_is_a_setting(
    mongodb_uri: str, tmp_path: Path, deflate: bool
) -> None:
    database = f"threadline_deflate_{deflate}"  # each its own, with its dev key in tmp_path
    with server(mongodb_uri, database, tmp_path, ws_per_message_deflate=deflate) as live:
        async with websockets.connect(
            live.ws_url, subprotocols=[Subprotocol(TRANSPORT_WS)], compression="deflate"
        ) as socket:
            assert socket.response is not None
            extensions = socket.response.headers.get("Sec-WebSocket-Extensions", "")
    assert ("permessage-deflate" in extensions) is deflate


async def test_websocket_pings_are_a_setting(mongodb_uri: str, tmp_path: Path) -> None:
    """The server pings each websocket every THREADLINE_WS_PING_SECONDS (the client answers)."""
    with server(mongodb_uri, "threadline_pings", tmp_path, ws_ping_seconds=0.2) as live:
        async with websockets.connect(
            live.ws_url, subprotocols=[Subprotocol(TRANSPORT_WS)], ping_interval=None
        ) as socket:
            opcodes: list[Opcode] = []
            receive = socket.protocol.recv_frame

            def noted(frame: Frame) -> None:
                opcodes.append(frame.opcode)
                receive(frame)

            socket.protocol.recv_frame = noted  # type: ignore[method-assign]
            await until(lambda: opcodes.count(Opcode.PING) >= 3)
