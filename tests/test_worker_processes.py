"""Real processes: workers killed with SIGKILL or paused past their lease, SIGTERM, and
subscribers on two servers. The run must end exactly once, with exactly one answer."""

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.processes import free_port, is_listening
from tests.graphql import GraphQLClient
from tests.processes import http_url, server, worker
from tests.runs import (
    CREATE_RUN,
    CREATE_THREAD,
    STEPS,
    function_tool,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
    wait_until_streaming,
)
from tests.takeover import Stress, check_run, summary, wait_for_log
from tests.test_subscriptions import THREAD_EVENTS, collect_run
from tests.ws import Live, connect, subscribe

pytestmark = pytest.mark.slow
WORDS = " ".join(f"w{i}" for i in range(15))
SLOW = f"/slow 120\n{WORDS}"
LEASE = 1.5


async def assert_one_answer(gql: GraphQLClient, live: Live, run: dict[str, Any]) -> None:
    done = await wait_for(gql, run["id"], timeout=90)
    assert done["status"] == "COMPLETED", done
    messages = await thread_messages(gql, run["threadId"])
    assert [(m["role"], m["status"]) for m in messages] == [
        ("USER", "COMPLETED"),
        ("ASSISTANT", "COMPLETED"),
    ]
    assert messages[1]["text"] == f"You said: {WORDS}"
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [(s["type"], s["status"]) for s in steps] == [("MESSAGE_CREATION", "COMPLETED")]
    events = await collect_run(live, run["id"])
    names = [e["event"] for e in events]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert names.count("thread.run.completed") == 1
    assert names.count("thread.message.completed") == 1
    assert names.count("thread.message.in_progress") == 1  # not announced again on takeover
    assert names[-1] == "thread.run.completed"
    told = "".join(e["textDelta"] for e in events if e["event"] == "thread.message.delta")
    assert told == messages[1]["text"]


@pytest.fixture
async def cluster(mongodb_uri: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """A server with no workers of its own, on a database of this test alone."""
    database = f"threadline_{request.node.name[:40]}"
    # Clients here poll and subscribe far more than one person would: no rate limit in the way.
    with server(mongodb_uri, database, tmp_path, rate_limit="100000/second") as live:
        headers = {"Authorization": live.payload["authorization"]}
        async with httpx.AsyncClient(base_url=http_url(live), headers=headers, timeout=10) as http:
            yield database, live, GraphQLClient(http)


async def test_sigkill_mid_run_another_worker_finishes_each_run_once(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    database, live, gql = cluster
    assistant = await new_assistant(gql)
    settings = {"workers": 4, "run_lease_seconds": LEASE}
    with worker(mongodb_uri, database, tmp_path, "doomed", **settings) as doomed:
        runs = [await start_run(gql, assistant, SLOW) for _ in range(4)]
        for run in runs:
            await wait_until_streaming(gql, run["id"])
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    with worker(mongodb_uri, database, tmp_path, "rescuer", **settings):
        for run in runs:
            await assert_one_answer(gql, live, run)
    assert "run_claimed" in (tmp_path / "rescuer.log").read_text()


async def test_a_paused_workers_late_writes_are_refused(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    database, live, gql = cluster
    settings = {"workers": 1, "run_lease_seconds": LEASE}
    run = await start_run(gql, await new_assistant(gql), f"/slow 400\n{WORDS}")
    with worker(mongodb_uri, database, tmp_path, "paused", **settings) as paused:
        await wait_until_streaming(gql, run["id"])
        # Frozen wherever it is, inside a transaction too: its sessions are killed once its
        # liveness record runs out, so what it holds open is undone.
        paused.send_signal(signal.SIGSTOP)
        with worker(mongodb_uri, database, tmp_path, "rescuer", **settings):
            await assert_one_answer(gql, live, run)
        before = await collect_run(live, run["id"])
        paused.send_signal(signal.SIGCONT)  # it wakes up believing it still holds the run
        # It finds out (a refused write, or its heartbeat) and lets the run go, still alive.
        await wait_for_log(tmp_path / "paused.log", '"reason": "lost", "event": "run_let_go"', 60)
        assert paused.poll() is None
    await assert_one_answer(gql, live, run)
    assert await collect_run(live, run["id"]) == before


async def test_sigterm_hands_running_runs_back(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    database, live, gql = cluster
    settings = {"workers": 1, "run_lease_seconds": 30, "drain_seconds": 0.2}
    run = await start_run(gql, await new_assistant(gql), SLOW)
    with worker(mongodb_uri, database, tmp_path, "leaving", **settings) as leaving:
        await wait_until_streaming(gql, run["id"])
        leaving.send_signal(signal.SIGTERM)
        assert leaving.wait(timeout=10) == 0
    # The lease (30 s) has not run out: the run was released, so it continues at once.
    with worker(mongodb_uri, database, tmp_path, "next", **settings):
        await assert_one_answer(gql, live, run)
    assert "run_released" in (tmp_path / "leaving.log").read_text()


async def test_subscribers_on_two_servers_see_the_same_sequence(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    database, live, gql = cluster
    assistant = await new_assistant(gql)
    text = f"/slow 10\n{WORDS}"
    thread_id = (await gql(CREATE_THREAD, input={"messages": [{"content": text}]}))["createThread"][
        "id"
    ]
    with server(mongodb_uri, database, tmp_path, workers=1) as other:

        async def watch(base: Live) -> list[dict[str, Any]]:
            seen = []
            async with connect(base.ws_url, payload=base.payload) as socket:
                async for data in subscribe(socket, THREAD_EVENTS, threadId=thread_id, after=0):
                    seen.append(data["threadEvents"])
                    if data["threadEvents"]["event"] == "thread.run.completed":
                        return seen
            raise AssertionError("the subscription ended early")

        watchers = [asyncio.create_task(watch(base)) for base in (live, other)]
        await asyncio.sleep(0.3)
        await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
        first, second = await asyncio.wait_for(asyncio.gather(*watchers), 20)
    assert first == second
    assert [e["sequence"] for e in first] == list(range(1, len(first) + 1))
    assert first[-1]["event"] == "thread.run.completed"


def test_worker_refuses_to_start_without_a_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    from tests.processes import THREADLINE

    result = subprocess.run(
        [THREADLINE, "worker"], env=env, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert b"THREADLINE_MONGODB_URI" in result.stderr


@pytest.mark.timeout(900)  # a loaded 2-core machine starts a worker process in seconds
async def test_random_kills_never_lose_or_repeat_anything(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    """kill -9 at random moments (inside writes too) of workers streaming, calling tools and
    waiting for outputs: every run completes once, told exactly what is stored."""
    database, live, gql = cluster
    assistant = await new_assistant(gql, tools=[function_tool("lookup"), function_tool("fetch")])
    stress = Stress(mongodb_uri, database, tmp_path, gql, assistant, kills=6, runs=4, seed=8)
    runs = await stress()
    print(summary(stress))  # noqa: T201 - shown with -s
    for run in runs:
        await check_run(gql, live, run)


async def test_a_worker_serves_its_health_and_metrics(
    cluster: Any, mongodb_uri: str, tmp_path: Path
) -> None:
    """THREADLINE_WORKER_HEALTH_PORT: the worker's own /healthz, /readyz and /metrics, which
    count the runs it executed; they stop with it."""
    database, live, gql = cluster
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with worker(
        mongodb_uri, database, tmp_path, "probed", workers=1, worker_health_port=port
    ) as probed:
        deadline = asyncio.get_running_loop().time() + 60
        while not is_listening("127.0.0.1", port):
            assert probed.poll() is None, (tmp_path / "probed.log").read_text()
            assert asyncio.get_running_loop().time() < deadline, "the probes never served"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base) as probes:
            assert (await probes.get("/healthz")).json() == {"status": "ok"}
            assert (await probes.get("/readyz")).json() == {"status": "ready"}
            run = await start_run(gql, await new_assistant(gql), WORDS)
            await assert_one_answer(gql, live, run)
            text = (await probes.get("/metrics")).text
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        assert samples[("threadline_runs_ended_total", (("status", "completed"),))] == 1
        model = (("model", "threadline/scripted"), ("outcome", "ok"))
        assert samples[("threadline_model_calls_total", model)] == 1
        probed.send_signal(signal.SIGTERM)
        assert probed.wait(timeout=10) == 0
    assert not is_listening("127.0.0.1", port)
