"""Fields that resolve another object read it in batches: a page of runs with each run's thread
and assistant, or of threads with each active run, costs the same few reads however long the
page, under the resolver turns (app/fairness.py) as without them."""

import asyncio
from collections import Counter

from app.fairness import Turns
from models.ids import new_id
from models.run import RunDocument
from tests.commands import Sent, commands_sent
from tests.graphql import GraphQLClient
from tests.runs import function_tool, new_assistant, start_run, wait_for

PAGE_OF_RUNS = """query($id: ID!) { thread(id: $id) { runs(first: 100) { nodes {
  id thread { id } assistant { id name } } } } }"""
PAGE_OF_THREADS = """{ threads(first: 100) { nodes { id activeRun { id status } } } }"""


def finds(sent: list[Sent]) -> Counter[str]:
    """Reads per collection; the caller's key lookup aside (cached, or not, by then)."""
    return Counter(
        command.collection
        for command in sent
        if command.name == "find" and command.collection != "api_keys"
    )


async def test_a_page_of_runs_reads_threads_and_assistants_once_each(gql: GraphQLClient) -> None:
    names = [f"helper {index}" for index in range(5)]
    assistants = [await new_assistant(gql, name=name) for name in names]
    run = await start_run(gql, assistants[0], "hello")
    await wait_for(gql, run["id"])
    stored = await RunDocument.get(run["id"])
    assert stored is not None
    # 99 more ended runs on the same thread, by all five assistants, as if run one by one.
    copies = [
        stored.model_copy(update={"id": new_id("run"), "assistant_id": assistants[i % 5]})
        for i in range(99)
    ]
    await RunDocument.insert_many(copies)

    with commands_sent() as sent:
        page = (await gql(PAGE_OF_RUNS, id=run["threadId"]))["thread"]["runs"]["nodes"]

    assert len(page) == 100
    assert {node["thread"]["id"] for node in page} == {run["threadId"]}
    by_id = {node["id"]: node["assistant"] for node in page}
    for copy in copies:
        assert by_id[copy.id]["id"] == copy.assistant_id
    assert {node["assistant"]["name"] for node in page} == set(names)
    # The thread (the root field), the page of runs, then one batch of threads and one of
    # assistants: never one read per run.
    assert finds(sent) == {"threads": 2, "runs": 1, "assistants": 1}, sent


async def test_a_page_of_threads_reads_their_active_runs_at_once(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("lookup")])
    waiting = await start_run(gql, assistant, "/call lookup {}")  # waits for its output
    await wait_for(gql, waiting["id"], {"REQUIRES_ACTION"})
    done = await start_run(gql, assistant, "hello")
    await wait_for(gql, done["id"])

    with commands_sent() as sent:
        nodes = (await gql(PAGE_OF_THREADS))["threads"]["nodes"]

    active = {node["id"]: node["activeRun"] for node in nodes}
    assert active[waiting["threadId"]] == {"id": waiting["id"], "status": "REQUIRES_ACTION"}
    assert active[done["threadId"]] is None
    assert finds(sent) == {"threads": 1, "runs": 1}, sent


async def test_a_batch_gathered_inside_a_turn_takes_no_second_one() -> None:
    """A resolver in the only turn that waits on a batch: the batch must not wait for a turn."""
    turns = Turns(1)

    async def resolver() -> str:
        async with turns.turn("proj_a"):
            batch = asyncio.create_task(read())  # as a DataLoader dispatches its batch
            return await batch

    async def read() -> str:
        async with turns.turn("proj_a"):
            return "read"

    assert await asyncio.wait_for(resolver(), 5) == "read"
    assert turns.held == 0
    assert not turns.waiting
