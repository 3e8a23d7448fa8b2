"""Every read that listing, paging, replaying and prompting send is served by an index of the
real database (its own `explain`), not by a scan of the collection: some planners (the
embedded database's) use an index only for a query on a prefix of its fields, so a field added
to a query without its index would quietly make that read cost the whole collection."""

from contextlib import aclosing
from typing import Any

from fastapi import FastAPI

from engine.follow import TERMINAL_EVENTS, follow
from models.event import EventDocument
from models.history import newest_first, oldest_first
from models.pagination import encode_cursor
from models.run import runs
from models.run_step import open_steps, steps_of
from models.thread import threads
from tests.commands import Sent, commands_sent
from tests.graphql import GraphQLClient
from tests.runs import new_assistant, start_run, wait_for

PROJECT = "proj_default"
READS = """query($id: ID!, $after: String) { thread(id: $id) {
  messages(first: 5, after: $after) { nodes { id } pageInfo { endCursor } }
  byRun: messages(first: 5, runId: "run_none") { nodes { id } }
  activeRun { id }
  runs(first: 5) { nodes {
    id steps(first: 5) { nodes { id } } thread { id } assistant { id } } } } }"""
# Pages after a cursor of (created_at, _id), in both orders.
AFTER = """query($id: ID!, $run: String!, $thread: String!) {
  thread(id: $id) { runs(first: 5, after: $run) { nodes { id } } }
  threads(first: 5, after: $thread, order: ASC) { nodes { id } } }"""


async def plan(command: Sent) -> dict[str, Any]:
    database = EventDocument.get_pymongo_collection().database
    query = {
        key: command.command[key] for key in ("find", "filter", "sort") if key in command.command
    }
    explained: dict[str, Any] = await database.command("explain", query)
    winning: dict[str, Any] = explained["queryPlanner"]["winningPlan"]
    return winning


async def test_the_reads_of_a_thread_and_its_runs_use_indexes(
    app: FastAPI, gql: GraphQLClient
) -> None:
    assistant = await new_assistant(gql)
    run = await start_run(gql, assistant, "hello")
    await wait_for(gql, run["id"])
    thread_id, run_id = run["threadId"], run["id"]
    with commands_sent() as sent:
        first = await gql(READS, id=thread_id, after=None)
        cursor = first["thread"]["messages"]["pageInfo"]["endCursor"]
        await gql(READS, id=thread_id, after=cursor)
        run_cursor = encode_cursor(await runs.get(PROJECT, run_id))
        thread_cursor = encode_cursor(await threads.get(PROJECT, thread_id))
        await gql(AFTER, id=thread_id, run=run_cursor, thread=thread_cursor)
        bus = app.state.engine.bus
        async with aclosing(follow(bus, PROJECT, thread_id, 0, run_id=run_id)) as events:
            async for event in events:
                if event.event in TERMINAL_EVENTS:
                    break
        async with aclosing(newest_first(PROJECT, thread_id, run_id)) as newer:
            [message async for message in newer]
        await oldest_first(PROJECT, thread_id, run_id, 3)
        await steps_of(run_id, PROJECT)
        await open_steps(run_id, PROJECT)

    reads = [command for command in sent if command.name == "find"]
    by_id = [command for command in reads if "_id" in command.command.get("filter", {})]
    assert {command.collection for command in reads} >= {
        "threads",
        "messages",
        "runs",
        "run_steps",
        "events",
        "assistants",
    }
    scans = [
        (command.collection, command.command.get("filter"))
        for command in reads
        if command not in by_id and "COLLSCAN" in str(await plan(command))
    ]
    assert scans == []
