"""A thread's messages are numbered in the order they are written, and read by ranges of
those numbers: newest first (for prompts) and page by page, across holes left by deletions,
they miss nothing and repeat nothing. Messages stored before numbering are numbered in time
order."""

from datetime import timedelta
from typing import Any

import pytest
from beanie.odm.utils.encoder import Encoder

from models.base import utcnow
from models.history import newest_first, oldest_first
from models.message import MessageDocument
from models.migrations import number_unnumbered_messages
from models.pagination import Numbered, PageRequest, paginate
from models.thread import ThreadDocument
from tests.graphql import GraphQLClient
from tests.runs import CREATE_THREAD

PROJECT = "proj_default"
# Ages spread over seconds to years; two messages share a timestamp; one is in the future.
AGES = [
    timedelta(seconds=-5),
    timedelta(0),
    timedelta(0),
    timedelta(seconds=30),
    timedelta(minutes=3),
    timedelta(hours=5),
    timedelta(days=40),
    timedelta(days=800),
]
PAGE = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
  $order: SortOrder) { thread(id: $id) { messages(first: $first, after: $after, last: $last,
  before: $before, order: $order) { nodes { text } pageInfo { hasNextPage hasPreviousPage
  startCursor endCursor } } } }"""
ADD = """mutation($threadId: ID!, $text: String!) {
  createMessage(threadId: $threadId, input: {content: $text}) { id } }"""


async def test_messages_stored_before_positions_are_numbered_in_time_order(
    gql: GraphQLClient,
) -> None:
    thread: str = (await gql(CREATE_THREAD))["createThread"]["id"]
    now = utcnow()
    stored = [
        MessageDocument(project_id=PROJECT, thread_id=thread, created_at=now - age) for age in AGES
    ]
    mine = MessageDocument(project_id=PROJECT, thread_id=thread, run_id="run_x")
    raw = [Encoder(to_db=True).encode(message) for message in [*stored, mine]]
    for document in raw:
        del document["position"]  # as a version before positions stored them
    await MessageDocument.get_pymongo_collection().insert_many(raw)

    await number_unnumbered_messages()
    await number_unnumbered_messages()  # a second process starting: nothing more to do

    in_time = sorted([*stored, mine], key=lambda m: (m.created_at, m.id))
    numbered = await MessageDocument.find({"thread_id": thread}).to_list()
    positions = {message.id: message.position for message in numbered}
    assert [positions[message.id] for message in in_time] == list(range(1, len(in_time) + 1))
    top = await ThreadDocument.get(thread)
    assert top is not None
    assert top.message_position == len(in_time)
    read = [m.id async for m in newest_first(PROJECT, thread, "run_x")]
    assert read == [m.id for m in reversed(in_time) if m is not mine]
    first = await oldest_first(PROJECT, thread, "run_x", 3)
    assert [m.id for m in first] == [m.id for m in in_time if m is not mine][:3]


async def thread_with_holes(gql: GraphQLClient) -> tuple[str, list[str]]:
    """A thread of 140 messages, m0 … m139, less holes of every width the reads widen across
    (1, 40 and 70 missing in a row): the texts left, oldest first."""
    seeds = [{"content": f"m{index}"} for index in range(100)]
    thread: str = (await gql(CREATE_THREAD, input={"messages": seeds}))["createThread"]["id"]
    for index in range(100, 140):
        await gql(ADD, threadId=thread, text=f"m{index}")
    holes = [5, *range(20, 90), *range(95, 135)]  # positions are 1 + the index
    collection = MessageDocument.get_pymongo_collection()
    await collection.delete_many({"thread_id": thread, "position": {"$in": [h + 1 for h in holes]}})
    return thread, [f"m{index}" for index in range(140) if index not in holes]


@pytest.mark.parametrize("size", [1, 3, 100])
@pytest.mark.parametrize("order", ["DESC", "ASC"])
async def test_pages_across_holes_list_every_message_once(
    gql: GraphQLClient, size: int, order: str
) -> None:
    thread, expected = await thread_with_holes(gql)
    if order == "DESC":
        expected.reverse()
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(PAGE, id=thread, first=size, after=after, order=order))["thread"]
        connection = page["messages"]
        seen += [node["text"] for node in connection["nodes"]]
        assert connection["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == expected
    backwards: list[str] = []
    before = None
    while True:
        page = (await gql(PAGE, id=thread, last=size, before=before, order=order))["thread"]
        connection = page["messages"]
        backwards = [node["text"] for node in connection["nodes"]] + backwards
        assert connection["pageInfo"]["hasNextPage"] == (before is not None)
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert backwards == expected


async def test_a_page_between_two_cursors(gql: GraphQLClient) -> None:
    thread, expected = await thread_with_holes(gql)
    whole = (await gql(PAGE, id=thread, first=100, order="ASC"))["thread"]["messages"]
    first = (await gql(PAGE, id=thread, first=1, order="ASC"))["thread"]["messages"]
    start = first["pageInfo"]["endCursor"]
    last = (await gql(PAGE, id=thread, last=1, order="ASC"))["thread"]["messages"]
    end = last["pageInfo"]["startCursor"]
    variables: dict[str, Any] = {"id": thread, "after": start, "before": end, "order": "ASC"}
    between = (await gql(PAGE, first=100, **variables))["thread"]["messages"]
    assert [node["text"] for node in between["nodes"]] == expected[1:-1]
    assert len(whole["nodes"]) == len(expected)


async def test_messages_written_after_the_thread_was_read_are_listed(gql: GraphQLClient) -> None:
    """A reader's `top` may be older than the newest messages: the open-ended ranges at each
    end still find them."""
    thread, expected = await thread_with_holes(gql)
    stale = Numbered(top=50)
    scope = {"project_id": PROJECT, "thread_id": thread}
    newest = await paginate(MessageDocument, scope, PageRequest(first=3), numbering=stale)
    assert [message.text for message in newest.items] == expected[::-1][:3]
    every = await paginate(MessageDocument, scope, PageRequest(first=100), numbering=stale)
    assert [message.text for message in every.items] == expected[::-1]


async def test_a_deleted_cursor_message_still_tells_what_lies_behind_it(
    gql: GraphQLClient,
) -> None:
    """A page's hasPreviousPage looks from the cursor's own position back: past a hole where
    the cursor's message (and the ones before it) were deleted, to the first one left."""
    seeds = [{"content": f"m{index}"} for index in range(10)]
    thread: str = (await gql(CREATE_THREAD, input={"messages": seeds}))["createThread"]["id"]
    first = (await gql(PAGE, id=thread, first=3, order="ASC"))["thread"]["messages"]
    cursor = first["pageInfo"]["endCursor"]  # m2's
    collection = MessageDocument.get_pymongo_collection()

    async def after_cursor() -> dict[str, Any]:
        page = await gql(PAGE, id=thread, first=3, after=cursor, order="ASC")
        return dict(page["thread"]["messages"])

    await collection.delete_many({"thread_id": thread, "position": {"$in": [2, 3]}})  # m1, m2
    page = await after_cursor()
    assert [node["text"] for node in page["nodes"]] == ["m3", "m4", "m5"]
    assert page["pageInfo"]["hasPreviousPage"] is True  # m0
    await collection.delete_many({"thread_id": thread, "position": 1})
    assert (await after_cursor())["pageInfo"]["hasPreviousPage"] is False
