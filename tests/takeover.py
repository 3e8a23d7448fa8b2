"""Randomized kills: worker processes `kill -9`'d at random moments while their runs stream,
call tools and wait for tool outputs. Shared by the suite (a few kills) and
bench/takeover_stress.py (50 and more, with takeover times).

What must hold for every run, whatever the kills hit:
- it completes, with exactly one answer, its steps all completed;
- its thread's event log is gap-free and duplicate-free (1, 2, 3…; one of each ending);
- the text a client accumulates from the deltas is the stored message, and no message is
  announced `in_progress` twice.
"""

import asyncio
import json
import random
import signal
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from engine.follow import TERMINAL_EVENTS
from tests.graphql import GraphQLClient
from tests.processes import worker
from tests.runs import MESSAGES, RUN, STEPS, SUBMIT, start_run
from tests.test_subscriptions import THREAD_EVENTS
from tests.ws import Live, connect, subscribe

WORDS = " ".join(f"w{i}" for i in range(24))
STREAM = f"/slow 40\n{WORDS}"
TOOLS = '/slow 40\n/call lookup {"q": 1}\n/call fetch {"url": "x"}'
TOOL_OUTPUT = "ok"
TOOL_ANSWER = f"Tool results: lookup returned {TOOL_OUTPUT}; fetch returned {TOOL_OUTPUT}."


@dataclass
class Kill:
    at: float  # time.monotonic() of the kill
    owner_pid: int
    held: list[str]  # runs whose lease it held


@dataclass
class Stress:
    """Runs under fire: `kills` kill -9s, `workers` processes alive at any time, `runs` runs
    unfinished at any time until the last kill."""

    uri: str
    database: str
    state: Path
    gql: GraphQLClient
    assistant: str
    kills: int
    runs: int
    workers: int = 2
    concurrency: int = 3
    lease: float = 2.0
    seed: int = 0
    log: list[Kill] = field(default_factory=list)
    takeovers: list[float] = field(default_factory=list)
    ended: set[str] = field(default_factory=set)

    async def __call__(self) -> list[dict[str, Any]]:
        """Keeps `runs` runs going while it kills; returns every run it started."""
        rng = random.Random(self.seed)
        started: list[dict[str, Any]] = []
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.uri, tz_aware=True)
        collection = client[self.database]["runs"]
        names = iter(f"worker-{n}" for n in range(10_000))
        with ExitStack() as stack:

            async def spawn() -> subprocess.Popen[bytes]:
                """A new worker, once it is claiming runs."""
                settings = {"workers": self.concurrency, "run_lease_seconds": self.lease}
                name = next(names)
                process = stack.enter_context(
                    worker(self.uri, self.database, self.state, name, **settings)
                )
                await wait_for_log(self.state / f"{name}.log", "workers_started", 60)
                return process

            alive = [await spawn() for _ in range(self.workers)]
            feeding = asyncio.create_task(self._feed(collection, started))
            answering = asyncio.create_task(self._answer_tools(started))
            watching: list[asyncio.Task[None]] = []
            try:
                while len(self.log) < self.kills:
                    await asyncio.sleep(rng.uniform(0.1, 1.0))
                    holding = await self._holding(collection, alive)
                    if not holding:
                        continue  # nobody holds a run this moment: a kill would test nothing
                    victim, held = rng.choice(holding)
                    alive.remove(victim)
                    victim.send_signal(signal.SIGKILL)
                    kill = Kill(time.monotonic(), victim.pid, held)
                    victim.wait(timeout=30)
                    self.log.append(kill)
                    watching.append(asyncio.create_task(self._time_takeover(collection, kill)))
                    alive.append(await spawn())
                feeding.cancel()
                await self._wait_all_ended(collection, [r["id"] for r in started], answering)
                await asyncio.gather(*watching)
            finally:
                for task in (feeding, answering, *watching):
                    task.cancel()
                await client.close()
        return started

    async def _holding(
        self, collection: Any, alive: list[subprocess.Popen[bytes]]
    ) -> list[tuple[subprocess.Popen[bytes], list[str]]]:
        """The live workers that hold runs now, with those runs."""
        holding = []
        for process in alive:
            held = [
                raw["_id"]
                async for raw in collection.find(
                    {"lease.owner": {"$regex": f":{process.pid}:"}}, {"_id": 1}
                )
            ]
            if held:
                holding.append((process, held))
        return holding

    async def _feed(self, collection: Any, started: list[dict[str, Any]]) -> None:
        """Starts runs, half streaming text, half calling tools, keeping `runs` unfinished."""
        while True:
            if await self._unfinished(collection, [r["id"] for r in started]) < self.runs:
                prompt = STREAM if len(started) % 2 else TOOLS
                started.append(await start_run(self.gql, self.assistant, prompt))
            else:
                await asyncio.sleep(0.1)

    async def _time_takeover(self, collection: Any, kill: Kill) -> None:
        """Seconds from the kill until another worker holds each run (or the run ended)."""
        pending = set(kill.held)
        while pending:
            async for raw in collection.find({"_id": {"$in": list(pending)}}):
                owner = (raw.get("lease") or {}).get("owner", "")
                if f":{kill.owner_pid}:" not in owner or raw["status"] not in (
                    "in_progress",
                    "queued",
                    "cancelling",
                ):
                    self.takeovers.append(time.monotonic() - kill.at)
                    pending.discard(raw["_id"])
            await asyncio.sleep(0.05)

    async def _answer_tools(self, started: list[dict[str, Any]]) -> None:
        """Like a client: each pending call answered once, as soon as the run asks."""
        answered: set[str] = set()
        while True:
            for run_id in [run["id"] for run in started]:
                if run_id in answered or run_id in self.ended:
                    continue
                run = (await self.gql(RUN, id=run_id))["run"]
                if run["status"] in ("COMPLETED", "FAILED"):
                    self.ended.add(run_id)
                elif run["status"] == "REQUIRES_ACTION":
                    calls = run["requiredAction"]["submitToolOutputs"]["toolCalls"]
                    outputs = [{"toolCallId": c["id"], "output": TOOL_OUTPUT} for c in calls]
                    await self.gql(SUBMIT, runId=run_id, outputs=outputs)
                    answered.add(run_id)
            await asyncio.sleep(0.1)

    async def _unfinished(self, collection: Any, run_ids: list[str]) -> int:
        return int(
            await collection.count_documents(
                {"_id": {"$in": run_ids}, "status": {"$nin": ["completed", "failed"]}}
            )
        )

    async def _wait_all_ended(
        self, collection: Any, run_ids: list[str], answering: asyncio.Task[None]
    ) -> None:
        deadline = time.monotonic() + 120 + self.runs * 5
        while await self._unfinished(collection, run_ids):
            if answering.done():
                answering.result()  # the client answering tool calls failed: say why
            if time.monotonic() > deadline:
                stuck = await collection.find(
                    {"_id": {"$in": run_ids}, "status": {"$nin": ["completed", "failed"]}},
                    {"status": 1, "lease": 1, "fence": 1},
                ).to_list()
                raise AssertionError(f"runs never ended: {stuck}")
            await asyncio.sleep(0.1)


async def wait_for_log(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path.name}"
        await asyncio.sleep(0.05)


async def check_run(gql: GraphQLClient, live: Live, run: dict[str, Any]) -> None:
    """Everything that must hold for one run after the kills (see the module's doc)."""
    done = (await gql(RUN, id=run["id"]))["run"]
    assert done["status"] == "COMPLETED", done
    tools = "/call" in (await _first_user_text(gql, run["threadId"]))
    messages = (await gql(MESSAGES, id=run["threadId"]))["thread"]["messages"]["nodes"]
    answers = [m for m in messages if m["role"] == "ASSISTANT"]
    assert [(m["status"], m["text"]) for m in answers] == [
        ("COMPLETED", TOOL_ANSWER if tools else f"You said: {WORDS}")
    ], messages
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    kinds = ["TOOL_CALLS", "MESSAGE_CREATION"] if tools else ["MESSAGE_CREATION"]
    assert [(s["type"], s["status"]) for s in steps] == [(k, "COMPLETED") for k in kinds], steps
    events = await _event_log(live, run["threadId"])
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    names = [e["event"] for e in events]
    for once in ("thread.run.created", "thread.run.completed", "thread.message.completed"):
        assert names.count(once) == 1, (once, names)
    assert names.count("thread.message.in_progress") == 1, names
    assert names[-1] == "thread.run.completed", names
    accumulated = "".join(e["textDelta"] or "" for e in events if "textDelta" in e)
    assert accumulated == answers[0]["text"], (accumulated, answers[0]["text"])


async def _first_user_text(gql: GraphQLClient, thread_id: str) -> str:
    messages = (await gql(MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    return str(messages[0]["text"])


async def _event_log(live: Live, thread_id: str) -> list[dict[str, Any]]:
    """The thread's whole log as a subscriber replays it (its one run has ended)."""
    events: list[dict[str, Any]] = []
    async with connect(live.ws_url, payload=live.payload) as socket:
        async for data in subscribe(socket, THREAD_EVENTS, threadId=thread_id, after=0):
            events.append(data["threadEvents"])
            if events[-1]["event"] in TERMINAL_EVENTS:
                return events
    raise AssertionError("the subscription ended early")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(stress: Stress) -> str:
    times = stress.takeovers or [0.0]
    return json.dumps(
        {
            "kills": len(stress.log),
            "runs_taken_over": len(stress.takeovers),
            "lease_seconds": stress.lease,
            "takeover_p50": round(percentile(times, 0.5), 2),
            "takeover_p95": round(percentile(times, 0.95), 2),
            "takeover_max": round(max(times), 2),
        }
    )
