"""Long threads: listing the last 20 messages and starting a run on a 100,000-message thread
against a 10-message thread.

A real `threadline run` server (two in-process workers) serves an in-memory embedded database.
Both threads are made with `createThread` and the same 10 messages, user and assistant in turn,
the newest a user's question; the long one then gets 99,990 older messages, written straight
into the `messages` collection with PyMongo `insert_many` (shaped like the stored ones and
numbered before them, the thread's `message_count` and `message_position` raised to match).
Each round, for each thread (A B, then B A):

- `thread(id) { messages(first: 20) }` (newest first, the default), one request at a time;
- a page deep inside: `GET /v1/threads/{id}/messages?after=<id>&limit=20`, after the message
  halfway back (the 50,000th newest; the 5th on the short thread);
- the question again (`createMessage`, not timed: a chat's next turn), then
  `createRun` → `runEvents(runId)` until the run completes, with the default truncation
  (`auto`: as much history as fits the scripted model's 16,384-token context) and with
  `lastMessages: 10` (the same prompt on both threads). Reported: the `createRun` request
  alone, the first streamed token, and the run's end, all timed from the `createRun` request.

The warm-up before the rounds makes one `auto` run on each thread: the first the server makes
on it, with nothing of the thread remembered (models/history_window.py), reported on its own
(one sample, against the short thread's p50). The rounds' runs then read only what was
written since the last.

    .venv/bin/python bench/long_thread.py [--messages N] [--lists N] [--runs N] [--rounds R]
        [--quick]
"""

# ruff: noqa: T201

import argparse
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from common import (
    CREATE_THREAD,
    DATABASE_NAME,
    GraphQL,
    Servers,
    new_assistant,
    open_socket,
    percentile,
    run_bench,
    wait_for_run_end,
)
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection

from models.ids import new_id

SMALL = 10
QUESTION = "What did we decide about the launch date and who is writing the notes?"
FILLER = (
    "Message {number}: we went over the plan again, the open questions, the budget and the"
    " next steps, and agreed to pick it up tomorrow morning."
)
LIST = """query($id: ID!) { thread(id: $id) { messages(first: 20) {
  nodes { id role text createdAt } pageInfo { hasNextPage endCursor } } } }"""
CREATE_RUN = """mutation($threadId: ID!, $input: CreateRunInput!) {
  createRun(threadId: $threadId, input: $input) { id status } }"""
ADD_QUESTION = """mutation($threadId: ID!, $input: CreateMessageInput!) {
  createMessage(threadId: $threadId, input: $input) { id } }"""
SEED_BATCH = 1000
METRICS = (
    ("list", "list last 20 messages"),
    ("deep", "a page deep inside (after=)"),
    ("create", "createRun request"),
    ("first", "first token (auto)"),
    ("auto", "run COMPLETED (auto)"),
    ("first10", "first token (lastMessages 10)"),
    ("last10", "run COMPLETED (lastMessages 10)"),
)

Json = dict[str, Any]


def conversation() -> list[Json]:
    """The 10 newest messages of both threads: a user's question last."""
    turns = [
        {"role": "USER" if index % 2 else "ASSISTANT", "content": FILLER.format(number=index)}
        for index in range(SMALL - 1)
    ]
    return [*turns, {"role": "USER", "content": QUESTION}]


async def seed(mongo: AsyncMongoClient[Json], thread_id: str, older: int) -> float:
    """`older` messages before the thread's own, as the API stores them; seconds taken."""
    started = time.perf_counter()
    messages = mongo[DATABASE_NAME]["messages"]
    template = await messages.find_one({"thread_id": thread_id}, sort=[("created_at", 1)])
    assert template is not None, "the thread has no message to copy"
    part = template["content"][0]
    # The thread's own messages come after these: numbered after them, as if written later.
    await messages.update_many({"thread_id": thread_id}, {"$inc": {"position": older}})
    base = template["created_at"] - timedelta(milliseconds=10 * older + 1000)
    for start in range(0, older, SEED_BATCH):
        batch = []
        for number in range(start, min(start + SEED_BATCH, older)):
            text = FILLER.format(number=number)
            batch.append(
                {
                    **template,
                    "_id": new_id("msg"),
                    "role": "user" if number % 2 else "assistant",
                    "content": [{**part, "text": {"value": text, "annotations": []}}],
                    "created_at": base + timedelta(milliseconds=10 * number),
                    "position": number + 1,
                }
            )
        await messages.insert_many(batch, ordered=False)
    await mongo[DATABASE_NAME]["threads"].update_one(
        {"_id": thread_id}, {"$inc": {"message_count": older, "message_position": older}}
    )
    return time.perf_counter() - started


async def middle(mongo: AsyncMongoClient[Json], thread_id: str) -> str:
    """The id of the message halfway back in the thread, newest first."""
    thread = await mongo[DATABASE_NAME]["threads"].find_one({"_id": thread_id})
    assert thread is not None
    halfway = thread["message_count"] // 2
    found = mongo[DATABASE_NAME]["messages"].find(
        {"thread_id": thread_id}, {"_id": 1}, sort=[("created_at", -1), ("_id", -1)]
    )
    return str((await found.skip(halfway).limit(1).to_list())[0]["_id"])


class Bench:
    def __init__(self, gql: GraphQL, socket: ClientConnection, assistant_id: str) -> None:
        self.gql = gql
        self.socket = socket
        self.assistant_id = assistant_id
        # (thread label, metric) → milliseconds
        self.samples: dict[tuple[str, str], list[float]] = defaultdict(list)

    async def lists(self, label: str, thread_id: str, count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            data = await self.gql(LIST, id=thread_id)
            self.samples[label, "list"].append((time.perf_counter() - started) * 1000)
            nodes = data["thread"]["messages"]["nodes"]
            if not nodes or nodes[0]["createdAt"] < nodes[-1]["createdAt"]:
                raise RuntimeError(f"not the newest messages first: {nodes[:2]}")

    async def deep(self, label: str, thread_id: str, after: str, count: int) -> None:
        path = f"/v1/threads/{thread_id}/messages"
        for _ in range(count):
            started = time.perf_counter()
            response = await self.gql.http.get(path, params={"after": after, "limit": 20})
            self.samples[label, "deep"].append((time.perf_counter() - started) * 1000)
            listed = response.json()
            if response.status_code != 200 or not listed["data"]:
                raise RuntimeError(f"no page after {after}: {response.status_code} {listed}")

    async def run(self, label: str, thread_id: str, last_ten: bool) -> None:
        """A question, as a chat adds before each run (not timed), then the run."""
        await self.gql(ADD_QUESTION, threadId=thread_id, input={"content": QUESTION})
        options: Json = {"assistantId": self.assistant_id}
        if last_ten:
            options["truncationStrategy"] = {"type": "LAST_MESSAGES", "lastMessages": 10}
        first: list[float] = []

        def seen(name: str) -> None:
            if name == "thread.message.delta" and not first:
                first.append(time.perf_counter())

        started = time.perf_counter()
        data = await self.gql(CREATE_RUN, threadId=thread_id, input=options)
        created = time.perf_counter()
        ended = await wait_for_run_end(self.socket, data["createRun"]["id"], seen)
        finished = time.perf_counter()
        if ended != "thread.run.completed":
            raise RuntimeError(f"a run on {label} ended with {ended}")
        self.samples[label, "create"].append((created - started) * 1000)
        self.samples[label, "last10" if last_ten else "auto"].append((finished - started) * 1000)
        if first:
            self.samples[label, "first10" if last_ten else "first"].append(
                (first[0] - started) * 1000
            )


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    server = servers.start(uri, workers=2)
    await server.wait_until_ready()
    key = server.key()
    mongo: AsyncMongoClient[Json] = AsyncMongoClient(uri)
    socket = None
    try:
        async with GraphQL(server.base_url, key) as gql:
            assistant_id = await new_assistant(gql)
            threads = {}
            for size in (SMALL, arguments.messages):
                data = await gql(CREATE_THREAD, input={"messages": conversation()})
                threads[f"{size:,} messages"] = str(data["createThread"]["id"])
            small, big = threads
            seconds = await seed(mongo, threads[big], arguments.messages - SMALL)
            print(f"seeded {arguments.messages - SMALL:,} messages in {seconds:.1f} s")
            socket = await open_socket(server.ws_url, key)
            work = Bench(gql, socket, assistant_id)
            halfway = {
                label: await middle(mongo, thread_id) for label, thread_id in threads.items()
            }
            await measure(arguments, work, threads, halfway)
            report(work, small, big)
    finally:
        if socket is not None:
            await socket.close()
        await mongo.close()


async def measure(
    arguments: argparse.Namespace, work: Bench, threads: dict[str, str], halfway: dict[str, str]
) -> None:
    labels = list(threads)
    for label in labels:  # warm-up
        await work.lists(label, threads[label], 1)
        await work.deep(label, threads[label], halfway[label], 1)
        await work.run(label, threads[label], last_ten=False)
    first_runs = {label: work.samples[label, "auto"] for label in labels}
    work.samples.clear()
    for label in labels:  # nothing of the thread was remembered (the short thread's also
        work.samples[label, "cold"] = first_runs[label]  # loaded the tokenizer)
    print(
        f"{arguments.rounds} rounds; per round and thread: {arguments.lists} lists,"
        f" {arguments.runs} runs of each truncation"
    )
    for number in range(1, arguments.rounds + 1):
        for label in labels if number % 2 else reversed(labels):
            started = time.perf_counter()
            await work.lists(label, threads[label], arguments.lists)
            await work.deep(label, threads[label], halfway[label], arguments.lists)
            for _ in range(arguments.runs):
                await work.run(label, threads[label], last_ten=False)
                await work.run(label, threads[label], last_ten=True)
            print(f"round {number}: {label} in {time.perf_counter() - started:.1f} s")


def report(work: Bench, small: str, big: str) -> None:
    print(f"{'ms':<32} {small + ' p50':>18} {'p95':>7} {big + ' p50':>22} {'p95':>7} {'ratio':>6}")
    ratios = {}
    for metric, name in METRICS:
        few, many = work.samples[small, metric], work.samples[big, metric]
        ratios[metric] = percentile(many, 0.5) / max(percentile(few, 0.5), 1e-9)
        print(
            f"{name:<32} {percentile(few, 0.5):>18.1f} {percentile(few, 0.95):>7.1f}"
            f" {percentile(many, 0.5):>22.1f} {percentile(many, 0.95):>7.1f}"
            f" {ratios[metric]:>5.2f}x"
        )
    print(f"ratios {big} / {small} (p50):")
    print(f"  listing the last 20 messages: {ratios['list']:.2f}x")
    print(f"  a page deep inside (after=<id>): {ratios['deep']:.2f}x")
    print(f"  createRun request alone: {ratios['create']:.2f}x")
    print(
        f"  createRun to COMPLETED: {ratios['auto']:.2f}x with auto truncation,"
        f" {ratios['last10']:.2f}x with lastMessages 10"
    )
    cold = work.samples[big, "cold"][0]
    print(
        f"  the first auto run on the {big} thread (nothing of it remembered): {cold:.1f} ms,"
        f" {cold / max(percentile(work.samples[small, 'auto'], 0.5), 1e-9):.2f}x"
        f" the {small} thread's p50"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Listing and running on a 100,000-message thread vs a 10-message thread."
    )
    parser.add_argument("--messages", type=int, default=100_000, help="the long thread's size")
    parser.add_argument("--lists", type=int, default=4, help="list requests per round")
    parser.add_argument("--runs", type=int, default=1, help="runs of each kind per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per thread")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10,000 messages")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.messages, arguments.lists, arguments.rounds = 10_000, 4, 2
    if arguments.messages <= SMALL:
        parser.error(f"--messages must be more than {SMALL}")
    if min(arguments.lists, arguments.runs, arguments.rounds) < 1:
        parser.error("--lists, --runs and --rounds must be at least 1")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
