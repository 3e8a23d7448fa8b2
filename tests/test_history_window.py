"""A process remembers a thread's newest messages between prompts (models/history_window.py):
it reads again only what was written since, and nothing it remembers outlives a deletion, the
renumbering an import makes, or an answer that was still being written."""

import asyncio
from contextlib import aclosing
from datetime import timedelta

from models.base import utcnow
from models.conversations import import_conversation
from models.history import PromptMessage, newest_first
from models.history_window import NEWER_AT_ONCE
from models.message import ContentPart, MessageDocument, TextValue
from tests.commands import commands_sent
from tests.graphql import GraphQLClient
from tests.runs import CREATE_THREAD, new_assistant, start_run, wait_for

PROJECT = "proj_default"
ADD = """mutation($threadId: ID!, $text: String!) {
  createMessage(threadId: $threadId, input: {content: $text}) { id } }"""
DELETE = "mutation($id: ID!) { deleteMessage(id: $id) { id } }"
MESSAGES = """query($id: ID!) { thread(id: $id) { messages(first: 100, order: ASC) {
  nodes { id text } } } }"""


async def new_thread(gql: GraphQLClient, count: int) -> str:
    seeds = [{"content": f"m{index}"} for index in range(count)]
    created = await gql(CREATE_THREAD, input={"messages": seeds})
    return str(created["createThread"]["id"])


async def read_back(thread_id: str, stop_after: int | None = None) -> list[str]:
    """The thread's texts, oldest first, as a prompt reads them (from the newest back)."""
    texts: list[str] = []
    async with aclosing(newest_first(PROJECT, thread_id, "run_none")) as newer:
        async for message in newer:
            texts.append(message.text)
            if len(texts) == stop_after:
                break
    return texts[::-1]


async def stored_texts(gql: GraphQLClient, thread_id: str) -> list[str]:
    nodes = (await gql(MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    return [node["text"] for node in nodes]


async def test_a_second_read_reads_only_what_was_written_since(gql: GraphQLClient) -> None:
    thread_id = await new_thread(gql, 50)
    assert await read_back(thread_id) == [f"m{i}" for i in range(50)]
    for index in range(50, 53):
        await gql(ADD, threadId=thread_id, text=f"m{index}")

    with commands_sent() as sent:
        again = await read_back(thread_id)
    assert again == [f"m{i}" for i in range(53)]
    reads = [c.command["filter"] for c in sent if c.name == "find" and c.collection == "messages"]
    assert [read["position"] for read in reads] == [{"$gt": 50}]


async def test_a_read_that_stopped_early_is_read_on_from_where_it_stopped(
    gql: GraphQLClient,
) -> None:
    thread_id = await new_thread(gql, 60)
    assert await read_back(thread_id, stop_after=10) == [f"m{i}" for i in range(50, 60)]
    await gql(ADD, threadId=thread_id, text="m60")
    assert await read_back(thread_id, stop_after=3) == ["m58", "m59", "m60"]
    assert await read_back(thread_id) == [f"m{i}" for i in range(61)]
    assert await read_back(thread_id) == [f"m{i}" for i in range(61)]


async def test_a_deleted_message_is_not_remembered(gql: GraphQLClient) -> None:
    thread_id = await new_thread(gql, 20)
    assert await read_back(thread_id) == [f"m{i}" for i in range(20)]
    nodes = (await gql(MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    await gql(DELETE, id=nodes[5]["id"])
    await gql(DELETE, id=nodes[19]["id"])  # the newest: its position is not given again
    await gql(ADD, threadId=thread_id, text="m20")

    expected = [f"m{i}" for i in range(21) if i not in (5, 19)]
    assert await read_back(thread_id) == expected == await stored_texts(gql, thread_id)


async def test_messages_imported_among_older_ones_are_read_in_their_new_places(
    gql: GraphQLClient,
) -> None:
    thread_id = await new_thread(gql, 10)
    assert await read_back(thread_id) == [f"m{i}" for i in range(10)]
    text = [ContentPart(type="text", text=TextValue(value="imported"))]
    older = MessageDocument(
        project_id=PROJECT,
        thread_id=thread_id,
        content=text,
        created_at=utcnow() - timedelta(days=1),
    )
    await import_conversation(PROJECT, thread_id, None, [older])

    expected = ["imported", *(f"m{i}" for i in range(10))]
    assert await read_back(thread_id) == expected == await stored_texts(gql, thread_id)


async def test_many_messages_written_since_are_read_in_ranges(gql: GraphQLClient) -> None:
    thread_id = await new_thread(gql, 5)
    assert await read_back(thread_id) == [f"m{i}" for i in range(5)]
    count = 5 + NEWER_AT_ONCE + 1
    for index in range(5, count):
        await gql(ADD, threadId=thread_id, text=f"m{index}")

    with commands_sent() as sent:
        newest = await read_back(thread_id, stop_after=3)
    assert newest == [f"m{i}" for i in range(count - 3, count)]
    reads = [c.command for c in sent if c.name == "find" and c.collection == "messages"]
    assert len(reads) == 1
    assert "$gte" in reads[0]["filter"]["position"]  # a bounded range
    assert await read_back(thread_id) == [f"m{i}" for i in range(count)]


async def test_an_answer_being_written_is_read_again_once_written(gql: GraphQLClient) -> None:
    """A run's answer is read while the scripted model is still streaming it (300 ms a word):
    the next read has the whole answer."""
    assistant = await new_assistant(gql)
    run = await start_run(gql, assistant, "/slow 300\ntell me a few words please")
    thread_id = run["threadId"]
    partial: PromptMessage | None = None
    while partial is None:  # until a read finds the answer's first words stored
        async with aclosing(newest_first(PROJECT, thread_id, "run_none")) as newer:
            newest = await anext(newer)
        if newest.run_id == run["id"]:
            assert newest.status == "in_progress", "the answer was whole before it was read"
            if newest.content:
                partial = newest
        if partial is None:
            await asyncio.sleep(0.01)
    assert (await wait_for(gql, run["id"]))["status"] == "COMPLETED"

    final = await stored_texts(gql, thread_id)
    assert partial.content[0].text is not None
    assert final[-1].startswith(partial.content[0].text.value)
    assert final[-1] != partial.content[0].text.value
    assert await read_back(thread_id) == final
