"""The price of turns: one project alone, its throughput with THREADLINE_MAX_RESOLVERS
at 1 and 2 against no bound (0), side by side in one run.

Three real `threadline run` servers (no workers) on one in-memory embedded database, alike but
for that setting; one project's key serves all three. Two loads, each from `--concurrency`
clients at once: `assistant(id)` (one resolver) and a wide page, `threads(first: 20) { messages
(first: 10) { … } }` (21 resolvers that read). Rounds take the servers in turn, the order
rotated each round, so that noise hits all of them; the report gives requests/s and the ratio
to the unbounded server.

    .venv/bin/python bench/turns_price.py [--seconds S] [--rounds R] [--concurrency C]
"""

# ruff: noqa: T201

import argparse
import asyncio
import statistics
import time

from common import (
    GraphQL,
    Servers,
    ThreadlineServer,
    keyed_client,
    new_assistant,
    new_thread,
    run_bench,
)

BOUNDS = (0, 1, 2)
WIDE = """{ threads(first: 20) { nodes { id messages(first: 10) { nodes {
  id content { ... on TextContent { text { value } } } } } } } }"""
ONE = "query($id: ID!) { assistant(id: $id) { id name model } }"


async def seed(gql: GraphQL) -> str:
    for _ in range(20):
        await new_thread(gql, [f"message {index}" for index in range(10)])
    return await new_assistant(gql)


async def load(url: str, key: str, body: dict[str, object], seconds: float, clients: int) -> float:
    """Requests per second from `clients` clients, each sending one after another."""
    async with keyed_client(url, key, clients, timeout=60) as http:
        done = 0
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                answer = (await http.post("/graphql", json=body)).json()
                if answer.get("errors"):
                    raise RuntimeError(f"refused: {answer['errors']}")
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.perf_counter() - began)


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    started: dict[int, ThreadlineServer] = {}
    for bound in BOUNDS:  # one after another: the first makes the dev key the others find
        started[bound] = servers.start(uri, workers=0, THREADLINE_MAX_RESOLVERS=str(bound))
        await started[bound].wait_until_ready()
    key = started[0].key()
    assert key is not None
    async with GraphQL(started[0].base_url, key) as gql:
        assistant_id = await seed(gql)
    loads: dict[str, dict[str, object]] = {
        "assistant(id)": {"query": ONE, "variables": {"id": assistant_id}},
        "wide": {"query": WIDE},
    }
    rates: dict[tuple[str, int], list[float]] = {}
    for round_number in range(arguments.rounds):
        order = BOUNDS[round_number % 3 :] + BOUNDS[: round_number % 3]
        for name, body in loads.items():
            for bound in order:
                rate = await load(
                    started[bound].base_url, key, body, arguments.seconds, arguments.concurrency
                )
                rates.setdefault((name, bound), []).append(rate)
    print(f"{'load':<15} {'bound':>5} {'req/s':>8} {'vs none':>8}")
    for name in loads:
        unbounded = statistics.median(rates[(name, 0)])
        for bound in BOUNDS:
            rate = statistics.median(rates[(name, bound)])
            print(f"{name:<15} {bound or 'none':>5} {rate:>8.1f} {rate / unbounded:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="per load, server and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
