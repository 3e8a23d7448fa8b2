"""A worker process killed while its code runs: its sandboxes die with it (nothing is left
running on the host), and another worker runs the call again and finishes the run, the logs
told before the kill kept."""

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.processes import worker
from tests.runs import new_assistant, start_run, wait_for
from tests.servers import until
from tests.test_code_interpreter import CODE, code_steps, logs_of
from tests.test_subscriptions import collect_run
from tests.test_worker_processes import cluster  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow
CODE_TEXT = "import time\nprint('started', flush=True)\ntime.sleep(3)\nprint('finished')"
RUN_AGAIN = "\n[The worker running this code stopped; it was run again from the start.]\n"


def descendants(pid: int) -> set[int]:
    found, pending = set(), [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                kids = [int(child) for child in children.read().split()]
        except OSError:
            continue
        found.update(kids)
        pending += kids
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_killed_workers_sandbox_dies_and_the_call_runs_again(
    cluster: Any,  # noqa: F811
    mongodb_uri: str,
    tmp_path: Path,
) -> None:
    database, live, gql = cluster
    assistant = await new_assistant(gql, tools=[CODE])
    settings = {"workers": 1, "run_lease_seconds": 1.5}
    run = await start_run(gql, assistant, f"/python\n{CODE_TEXT}")
    with worker(mongodb_uri, database, tmp_path, "doomed", **settings) as doomed:

        async def started() -> bool:
            steps = await code_steps(gql, run["id"])
            calls = steps[0]["stepDetails"]["toolCalls"] if steps else []
            return bool(calls) and "started" in logs_of(calls[0]["codeInterpreter"])

        await until(started, timeout=30)
        sandbox = descendants(doomed.pid)
        assert sandbox, "the worker runs no sandbox"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

        async def gone() -> bool:
            return not any(alive(pid) for pid in sandbox)

        await until(gone, timeout=10)
    with worker(mongodb_uri, database, tmp_path, "rescuer", **settings):
        ended = await wait_for(gql, run["id"], timeout=60)
    assert ended["status"] == "COMPLETED", ended
    (call,) = (await code_steps(gql, run["id"]))[0]["stepDetails"]["toolCalls"]
    logs = logs_of(call["codeInterpreter"])
    assert logs == f"started\n{RUN_AGAIN}started\nfinished\n"
    events = await collect_run(live, run["id"])
    told = "".join(
        output["logs"]
        for e in events
        if e["event"] == "thread.run.step.delta"
        for d in e["delta"]["step_details"]["tool_calls"]
        for output in d.get("code_interpreter", {}).get("outputs", [])
    )
    assert told == logs
