"""Takeover under random kills: `kill -9` of worker processes at random moments (inside writes
too) while their runs stream text, call tools and wait for tool outputs.

A real `threadline run` server (no workers of its own) and `--workers` `threadline worker`
processes on an in-memory embedded database. The stress keeps `--runs` runs unfinished until
`--kills` kills are spent, replacing each killed worker at once. Then every run it started is
checked as the suite checks it (tests/takeover.py): completed once, one answer, a gap-free and
duplicate-free event log, the deltas exactly the stored text. Takeover time is from the kill to
another worker holding the run; the baseline it is measured against is the lease itself.

    .venv/bin/python bench/takeover_stress.py [--kills 50] [--runs 6] [--lease 2] [--seed 1]
"""

# ruff: noqa: T201

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedded_db import MEMORY, EmbeddedDatabase
from app.logging import configure_logging
from tests.graphql import GraphQLClient
from tests.processes import http_url, server
from tests.runs import function_tool, new_assistant
from tests.takeover import Stress, check_run, percentile


async def bench(arguments: argparse.Namespace, uri: str, state: Path) -> None:
    with server(uri, "threadline_bench", state, rate_limit="100000/second") as live:
        headers = {"Authorization": live.payload["authorization"]}
        async with httpx.AsyncClient(base_url=http_url(live), headers=headers, timeout=30) as http:
            gql = GraphQLClient(http)
            tools = [function_tool("lookup"), function_tool("fetch")]
            assistant = await new_assistant(gql, tools=tools)
            stress = Stress(
                uri,
                "threadline_bench",
                state,
                gql,
                assistant,
                kills=arguments.kills,
                runs=arguments.runs,
                workers=arguments.workers,
                lease=arguments.lease,
                seed=arguments.seed,
            )
            began = time.monotonic()
            runs = await stress()
            seconds = time.monotonic() - began
            for run in runs:
                await check_run(gql, live, run)
    times = stress.takeovers or [0.0]
    lease = arguments.lease
    report = {
        "kills": len(stress.log),
        "kills_that_held_runs": sum(1 for kill in stress.log if kill.held),
        "runs": len(runs),
        "runs_taken_over": len(stress.takeovers),
        "all_runs_checked": True,
        "lease_seconds": lease,
        "takeover_seconds": {
            "p50": round(percentile(times, 0.5), 2),
            "p95": round(percentile(times, 0.95), 2),
            "max": round(max(times), 2),
        },
        "takeover_over_lease": {
            "p50": round(percentile(times, 0.5) / lease, 2),
            "p95": round(percentile(times, 0.95) / lease, 2),
            "max": round(max(times) / lease, 2),
        },
        "within_lease_plus_5s": max(times) <= lease + 5,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--runs", type=int, default=6, help="runs kept unfinished")
    parser.add_argument("--workers", type=int, default=2, help="worker processes alive")
    parser.add_argument("--lease", type=float, default=2.0, help="THREADLINE_RUN_LEASE_SECONDS")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    configure_logging("WARNING")
    database = EmbeddedDatabase(MEMORY)
    try:
        with tempfile.TemporaryDirectory(prefix="threadline-takeover-") as state:
            asyncio.run(bench(arguments, database.start(), Path(state)))
    finally:
        database.stop()


if __name__ == "__main__":
    main()
