"""What a run costs the database, counted command by command (the timings are in
bench/run_throughput.py): a change that adds a round trip to every run shows here."""

from collections import defaultdict
from typing import Any

from tests.commands import Sent, every_command_sent
from tests.graphql import GraphQLClient
from tests.runs import CREATE_THREAD_AND_RUN, new_assistant, wait_for

Transaction = tuple[bytes, int]


def transactions(sent: list[Sent], touching: str) -> dict[Transaction, list[Sent]]:
    """The statements of each committed transaction with one that names `touching` (an id).
    (A try cut short by a conflict, with a heartbeat say, is retried as another.)"""
    statements: dict[Transaction, list[Sent]] = defaultdict(list)
    for command in sent:
        if "txnNumber" in command.command and "autocommit" in command.command:
            key = (bytes(command.command["lsid"]["id"]), int(command.command["txnNumber"]))
            statements[key].append(command)
    return {
        key: found
        for key, found in statements.items()
        if touching in repr(found) and any(c.name == "commitTransaction" for c in found)
    }


def on(statements: list[Sent], name: str, collection: str) -> list[Sent]:
    return [c for c in statements if (c.name, c.collection) == (name, collection)]


def filters(command: Sent) -> list[dict[str, Any]]:
    if command.name == "find":
        return [command.command.get("filter", {})]
    return [update["q"] for update in command.command.get("updates", [])]


async def test_each_transaction_of_a_run_numbers_in_one_write_to_its_thread(
    gql: GraphQLClient,
) -> None:
    assistant = await new_assistant(gql)
    with every_command_sent() as sent:
        created = await gql(
            CREATE_THREAD_AND_RUN,
            input={"assistantId": assistant, "thread": {"messages": [{"content": "hi there"}]}},
        )
        run = created["createThreadAndRun"]
        await wait_for(gql, run["id"])
    thread_id = run["threadId"]
    mine = transactions(sent, thread_id)
    # Made (run, thread, message, first events), started, and at least one with the answer.
    assert len(mine) >= 3
    writes_message = 0
    for statements in mine.values():
        thread_writes = on(statements, "update", "threads")
        thread_reads = on(statements, "find", "threads")
        if on(statements, "insert", "threads"):
            # The new thread is numbered on its document, before it is inserted.
            assert (thread_writes, thread_reads) == ([], []), statements
            continue
        # Messages and events numbered together: one write, one read of the counters.
        assert len(thread_writes) == 1, statements
        assert len(thread_reads) == 1, statements
        if on(statements, "update", "messages"):
            writes_message += 1
    assert writes_message >= 1


async def test_a_runs_first_turn_reads_none_of_its_own_steps(gql: GraphQLClient) -> None:
    """A run its first claim found queued has no steps yet: its prompt and its resume read
    none. (After tool outputs it has: tests/test_function_calling.py.)"""
    assistant = await new_assistant(gql)
    with every_command_sent() as sent:
        created = await gql(
            CREATE_THREAD_AND_RUN,
            input={"assistantId": assistant, "thread": {"messages": [{"content": "one two"}]}},
        )
        run_id = created["createThreadAndRun"]["id"]
        assert (await wait_for(gql, run_id))["status"] == "COMPLETED"
    step_reads = [
        command
        for command in on(sent, "find", "run_steps")
        if any(found.get("run_id") == run_id for found in filters(command))
    ]
    assert step_reads == []
