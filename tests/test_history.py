"""A thread read newest first (for prompts) and page by page misses nothing and repeats
nothing, with messages spread over years, sharing timestamps, or from a clock ahead."""

from datetime import timedelta

import pytest

from models.base import utcnow
from models.history import newest_first
from models.message import MessageDocument
from models.thread import ThreadDocument
from tests.graphql import GraphQLClient
from tests.runs import CREATE_THREAD

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


async def old_thread(gql: GraphQLClient) -> str:
    """A thread made 1,000 days ago, before most of its messages."""
    thread: str = (await gql(CREATE_THREAD))["createThread"]["id"]
    made = utcnow() - timedelta(days=1000)
    await ThreadDocument.get_pymongo_collection().update_one(
        {"_id": thread}, {"$set": {"created_at": made}}
    )
    return thread


async def test_every_message_once_newest_first(gql: GraphQLClient) -> None:
    thread = await old_thread(gql)
    now = utcnow()
    stored = [
        MessageDocument(project_id="proj_default", thread_id=thread, created_at=now - age)
        for age in AGES
    ]
    mine = MessageDocument(project_id="proj_default", thread_id=thread, run_id="run_x")
    await MessageDocument.insert_many([*stored, mine])
    read = [m async for m in newest_first("proj_default", thread, "run_x")]
    expected = sorted(stored, key=lambda m: (m.created_at, m.id), reverse=True)
    assert [m.id for m in read] == [m.id for m in expected]


PAGE = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
  $order: SortOrder) { thread(id: $id) { messages(first: $first, after: $after, last: $last,
  before: $before, order: $order) { nodes { id } pageInfo { hasNextPage hasPreviousPage
  startCursor endCursor } } } }"""


@pytest.mark.parametrize("size", [1, 2, 3, 100])
@pytest.mark.parametrize("order", ["DESC", "ASC"])
async def test_pages_across_windows_list_every_message_once(
    gql: GraphQLClient, size: int, order: str
) -> None:
    thread = await old_thread(gql)
    now = utcnow()
    stored = [
        MessageDocument(project_id="proj_default", thread_id=thread, created_at=now - age)
        for age in AGES
    ]
    await MessageDocument.insert_many(stored)
    expected = [m.id for m in sorted(stored, key=lambda m: (m.created_at, m.id))]
    if order == "DESC":
        expected.reverse()
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(PAGE, id=thread, first=size, after=after, order=order))["thread"]
        connection = page["messages"]
        seen += [node["id"] for node in connection["nodes"]]
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
        backwards = [node["id"] for node in connection["nodes"]] + backwards
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert backwards == expected
