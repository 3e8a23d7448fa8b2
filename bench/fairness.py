"""Fairness: another project's `assistant(id)` while one key floods the server with the most
expensive queries the limits still allow, against the same reads alone, in the same run.

A real `threadline run` server (no workers) serves an in-memory embedded database with its
default limits: query cost, operations in flight per key, timeout. Only the per-key rate limit
is off, as in every bench here: the flood is the point, and a rate limit would hide what the
other limits leave. Project A (the dev key) holds 100 threads of 40 messages each; project B
(made through the admin API) holds one assistant.

The flood: `--attackers` clients of A's key, each sending, as fast as the answers come, the
costliest `threads { messages { content } }` query under THREADLINE_MAX_QUERY_COST (probed at
start: the most messages a thread that the server still takes). They run in a process of their
own, as another client would: reading their answers must not slow the victim's measurement.
The victim: one client of B's key reading `assistant(id)` one request after another. Phases
alternate (alone, flooded, alone, …) so that noise hits both; the report gives the victim's
p50/p95 in each and the ratios.

    .venv/bin/python bench/fairness.py [--requests N] [--rounds R] [--attackers C]
                                       [--in-flight N] [--resolvers N] [--quick]
"""

# ruff: noqa: T201

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from common import GraphQL, Servers, keyed_client, new_assistant, new_thread, percentile, run_bench

from app.settings import Settings

THREADS = 100
MESSAGES = 40
TEXT = "A message long enough to be worth reading back, as a chat's messages are. " * 3
ATTACK = """query($threads: Int!, $messages: Int!) {
  threads(first: $threads) { nodes { id messages(first: $messages) { nodes {
    id role createdAt content { ... on TextContent { text { value } } } } } } } }"""
VICTIM = "query($id: ID!) { assistant(id: $id) { id name model } }"
CREATE_PROJECT = 'mutation { createProject(name: "victim") { id } }'
CREATE_KEY = 'mutation($p: ID!) { createApiKey(projectId: $p, name: "victim") { key } }'


@dataclass
class Flood:
    answered: int = 0
    refused: int = 0
    other: int = 0
    codes: dict[str, int] = field(default_factory=dict)


async def seed(gql: GraphQL) -> None:
    """Project A's threads, one after another (within any in-flight bound)."""
    messages = [f"{TEXT} #{i}" for i in range(MESSAGES)]
    for _ in range(THREADS):
        await new_thread(gql, messages)


async def victim_key(base_url: str, state_dir: Path) -> str:
    admin = (state_dir / "admin-key").read_text().strip()
    async with GraphQL(base_url, admin) as gql:
        project = (await gql(CREATE_PROJECT))["createProject"]["id"]
        return str((await gql(CREATE_KEY, p=project))["createApiKey"]["key"])


async def costliest(http: httpx.AsyncClient) -> dict[str, int]:
    """The attack's variables: all the threads, and as many messages each as the cost limit
    lets through (the server's answer says whether it took the query)."""
    for messages in range(MESSAGES, 0, -1):
        variables = {"threads": THREADS, "messages": messages}
        body = (await http.post("/graphql", json={"query": ATTACK, "variables": variables})).json()
        if not body.get("errors"):
            cost = body.get("extensions", {}).get("cost", {})
            print(f"attack: {THREADS} threads x {messages} messages, cost {cost}")
            return variables
    raise RuntimeError("no attack query fits the cost limit")


async def flood(
    http: httpx.AsyncClient, variables: dict[str, int], stop: asyncio.Event, started: asyncio.Event
) -> Flood:
    seen = Flood()
    while not stop.is_set():
        answer = await http.post("/graphql", json={"query": ATTACK, "variables": variables})
        started.set()
        errors = answer.json().get("errors") if answer.status_code == 200 else None
        if answer.status_code == 200 and not errors:
            seen.answered += 1
            continue
        code = (errors or [{}])[0].get("extensions", {}).get("code", str(answer.status_code))
        seen.codes[code] = seen.codes.get(code, 0) + 1
        if code == "RATE_LIMITED" or answer.status_code == 429:
            seen.refused += 1
            await asyncio.sleep(0.01)  # a refused client tries again soon, as a real one would
        else:
            seen.other += 1
    return seen


async def flood_until_stdin_closes(base_url: str, key: str, variables: str, clients: int) -> None:
    """The attackers' process: floods until its stdin closes, then prints what it saw. It says
    `flooding` once the first answer is in (the flood is under way, this process started)."""
    attackers = [keyed_client(base_url, key, 1) for _ in range(clients)]
    stop, started = asyncio.Event(), asyncio.Event()
    parsed = json.loads(variables)
    tasks = [asyncio.create_task(flood(http, parsed, stop, started)) for http in attackers]
    await started.wait()
    print("flooding", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    stop.set()
    seen = await asyncio.gather(*tasks)
    for http in attackers:
        await http.aclose()
    print(json.dumps([asdict(one) for one in seen]), flush=True)


class Attackers:
    """A flood in a process of its own, for one phase."""

    def __init__(self, base_url: str, key: str, variables: dict[str, int], clients: int) -> None:
        self.arguments = [__file__, "--flood", base_url, key, json.dumps(variables), str(clients)]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.arguments,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        if await self.process.stdout.readline() != b"flooding\n":
            raise RuntimeError("the attackers' process did not start flooding")

    async def stop(self) -> list[Flood]:
        assert self.process is not None
        output, _ = await self.process.communicate(b"")  # after its "flooding" line
        if self.process.returncode:
            raise RuntimeError(f"the attackers' process failed ({self.process.returncode})")
        return [Flood(**one) for one in json.loads(output)]


async def victim(http: httpx.AsyncClient, assistant_id: str, requests: int) -> list[float]:
    latencies = []
    for _ in range(requests):
        began = time.perf_counter()
        answer = await http.post(
            "/graphql", json={"query": VICTIM, "variables": {"id": assistant_id}}
        )
        latencies.append((time.perf_counter() - began) * 1000)
        body = answer.json()
        if body.get("errors") or not body["data"]["assistant"]:
            raise RuntimeError(f"the victim's read failed: {body}")
    return latencies


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    # The defaults of every limit but the rate limit (bench/common.py lifts the in-flight
    # bound for load benches; here it is one of the limits measured).
    defaults = Settings()
    limit = str(arguments.in_flight or defaults.max_concurrent_per_key)
    resolvers = str(defaults.max_resolvers if arguments.resolvers is None else arguments.resolvers)
    server = servers.start(
        uri,
        workers=0,
        THREADLINE_MAX_CONCURRENT_PER_KEY=limit,
        THREADLINE_MAX_RESOLVERS=resolvers,
    )
    print(f"at most {limit} operations in flight per key, {resolvers} resolvers at once")
    await server.wait_until_ready()
    attacker_key = server.key()
    assert attacker_key is not None
    async with GraphQL(server.base_url, attacker_key) as gql:
        await seed(gql)
    victim_secret = await victim_key(server.base_url, server.state_dir)
    async with GraphQL(server.base_url, victim_secret) as gql:
        assistant_id = await new_assistant(gql)
    async with keyed_client(server.base_url, attacker_key, 1) as http:
        variables = await costliest(http)
    reader = keyed_client(server.base_url, victim_secret, 1)
    alone: list[float] = []
    flooded: list[float] = []
    floods: list[Flood] = []
    try:
        await victim(reader, assistant_id, 20)  # warm
        for round_number in range(arguments.rounds):
            alone_now = await victim(reader, assistant_id, arguments.requests)
            attackers = Attackers(server.base_url, attacker_key, variables, arguments.attackers)
            await attackers.start()  # once it answers, the flood is under way
            await asyncio.sleep(0.5)  # and every attacker has a query in
            flooded_now = await victim(reader, assistant_id, arguments.requests)
            floods += await attackers.stop()
            alone += alone_now
            flooded += flooded_now
            print(
                f"round {round_number + 1}: alone p95 {percentile(alone_now, 0.95):.1f} ms, "
                f"flooded p95 {percentile(flooded_now, 0.95):.1f} ms"
            )
    finally:
        await reader.aclose()
    report(alone, flooded, floods)


def report(alone: list[float], flooded: list[float], floods: list[Flood]) -> None:
    answered = sum(f.answered for f in floods)
    refused = sum(f.refused for f in floods)
    other = sum(f.other for f in floods)
    codes: dict[str, int] = {}
    for seen in floods:
        for code, count in seen.codes.items():
            codes[code] = codes.get(code, 0) + count
    print(f"flood: {answered} answered, {refused} refused (RATE_LIMITED), {other} other {codes}")
    print(f"{'victim':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in (("alone", alone), ("flooded", flooded)):
        print(
            f"{name:<10} {statistics.median(values):>8.1f} {percentile(values, 0.95):>8.1f} "
            f"{max(values):>8.1f}"
        )
    p50 = statistics.median(flooded) / statistics.median(alone)
    p95 = percentile(flooded, 0.95) / percentile(alone, 0.95)
    print(f"ratio flooded/alone: p50 {p50:.2f}x, p95 {p95:.2f}x (goal: p95 <= 3x)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="victim reads per phase")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--attackers", type=int, default=6)
    parser.add_argument("--in-flight", type=int, default=0, help="else the default bound")
    parser.add_argument("--resolvers", type=int, help="else the default bound (0: none)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 60 reads")
    parser.add_argument("--flood", nargs=4, help=argparse.SUPPRESS)  # the attackers' process
    arguments = parser.parse_args(argv)
    if arguments.flood:
        base_url, key, variables, clients = arguments.flood
        asyncio.run(flood_until_stdin_closes(base_url, key, variables, int(clients)))
        return
    if arguments.quick:
        arguments.requests, arguments.rounds = 60, 2
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
