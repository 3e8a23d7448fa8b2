"""Does the operation timeout stop the work, and how long does a big query hold the event loop?

The app runs in-process (its lifespan, on an in-memory embedded database). One thread gets 10
runs, written straight into `runs`; then `thread { runs(first: 100) { nodes { thread { runs …
} } } }` nested `--levels` deep asks for 10^(levels+1) runs (each `thread` one database read).
A ticker task sleeping 1 ms at a time measures the event loop's stalls while the query runs;
afterwards, the process's CPU over 3 idle seconds shows whether work went on past the answer
(the engine's own idle polling sets the baseline, about 0.25 s here).

    PYTHONPATH=. .venv/bin/python bench/event_loop_stalls.py [--levels 3] [--timeout 2]
"""

# ruff: noqa: T201

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.keys import DEV_KEY_FILE, read_secret
from app.main import create_app
from app.settings import Settings
from models.project import DEFAULT_PROJECT_ID
from models.run import RunDocument

MODEL = "threadline/scripted"


def nested(levels: int) -> str:
    selection = "id status createdAt model instructions"
    for _ in range(levels):
        selection = f"id thread {{ id runs(first: 100) {{ nodes {{ {selection} }} }} }}"
    return (
        "query($t: ID!) { node(id: $t) { ... on Thread { id runs(first: 100) { nodes { "
        + selection
        + " } } } } }"
    )


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Ticker:
    def __init__(self) -> None:
        self.gaps: list[tuple[float, float]] = []  # (when, how long since the last tick)
        self.running = True

    async def run(self) -> None:
        last = time.perf_counter()
        while self.running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append((now, now - last))
            last = now


async def measure(levels: int, timeout: float) -> None:
    database = EmbeddedDatabase(MEMORY)
    state = Path(tempfile.mkdtemp())
    settings = Settings(
        mongodb_uri=database.start(),
        database_name="stalls",
        state_dir=state,
        rate_limit="10000/second",
        max_query_depth=0,
        operation_timeout_seconds=timeout,
    )
    app = create_app(settings)
    try:
        async with LifespanManager(app):
            key = read_secret(state / DEV_KEY_FILE)
            headers = {"authorization": f"Bearer {key}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=headers, timeout=120
            ) as http:
                await report(http, levels)
    finally:
        database.stop()


async def report(http: httpx.AsyncClient, levels: int) -> None:
    async def graphql(query: str, **variables: str) -> httpx.Response:
        return await http.post("/graphql", json={"query": query, "variables": variables})

    created = 'mutation { createAssistant(input: {model: "threadline/scripted"}) { id } }'
    assistant = (await graphql(created)).json()["data"]["createAssistant"]["id"]
    thread = (await graphql("mutation { createThread { id } }")).json()["data"]["createThread"]
    for _ in range(10):
        await RunDocument(
            project_id=DEFAULT_PROJECT_ID,
            thread_id=thread["id"],
            assistant_id=assistant,
            model=MODEL,
            status="completed",
            active=False,
            instructions="x" * 200,
        ).insert()
    await graphql(nested(levels), t=thread["id"])  # warm: the connection pool, caches
    await asyncio.sleep(3)
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    started, cpu_started = time.perf_counter(), cpu()
    answer = await graphql(nested(levels), t=thread["id"])
    answered, cpu_answered = time.perf_counter(), cpu()
    await asyncio.sleep(3)
    cpu_after = cpu() - cpu_answered
    ticker.running = False
    await ticking
    during = sorted((gap for at, gap in ticker.gaps if at <= answered), reverse=True)
    errors = answer.json().get("errors")
    print(
        f"{10 ** (levels + 1)} runs asked for: answered in {answered - started:.2f} s "
        f"({cpu_answered - cpu_started:.2f} s CPU), {len(answer.content) / 1e6:.1f} MB, "
        f"{'error: ' + errors[0]['message'] if errors else 'no error'}"
    )
    print(f"  loop stalls while it ran (ms): {[round(gap * 1000) for gap in during[:6]]}")
    print(f"  CPU in the 3 idle s after the answer: {cpu_after:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=2)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.levels, arguments.timeout))


if __name__ == "__main__":
    main()
