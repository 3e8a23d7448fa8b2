"""Relay connections: keyset pages forwards and backwards, in both orders, under inserts."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.assistant import AssistantDocument
from tests.graphql import GraphQLClient

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: SortOrder!) {
  assistants(first: $first, after: $after, last: $last, before: $before, order: $order) {
    edges { cursor node { name } }
    nodes { name }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
CREATE = """mutation($name: String!) {
  createAssistant(input: {model: "threadline/scripted", name: $name}) { id } }"""


async def create(gql: GraphQLClient, *names: str) -> None:
    for name in names:
        await gql(CREATE, name=name)


async def page(gql: GraphQLClient, order: str, **arguments: Any) -> dict[str, Any]:
    connection: dict[str, Any] = (await gql(PAGE, order=order, **arguments))["assistants"]
    assert [edge["node"] for edge in connection["edges"]] == connection["nodes"]
    return connection


def names(connection: dict[str, Any]) -> list[str]:
    return [node["name"] for node in connection["nodes"]]


async def walk_forwards(gql: GraphQLClient, order: str, size: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        connection = await page(gql, order, first=size, after=after)
        seen += names(connection)
        info = connection["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None)
        if not info["hasNextPage"]:
            return seen
        after = info["endCursor"]


async def walk_backwards(gql: GraphQLClient, order: str, size: int) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        connection = await page(gql, order, last=size, before=before)
        seen = names(connection) + seen
        info = connection["pageInfo"]
        assert info["hasNextPage"] == (before is not None)
        if not info["hasPreviousPage"]:
            return seen
        before = info["startCursor"]


ALL = [f"a{index:02}" for index in range(11)]


@pytest.mark.parametrize("size", [1, 3, 11, 100])
async def test_forwards_and_backwards_in_both_orders(gql: GraphQLClient, size: int) -> None:
    await create(gql, *ALL)
    assert await walk_forwards(gql, "ASC", size) == ALL
    assert await walk_forwards(gql, "DESC", size) == ALL[::-1]
    assert await walk_backwards(gql, "ASC", size) == ALL
    assert await walk_backwards(gql, "DESC", size) == ALL[::-1]


async def made_in_the_same_milliseconds() -> list[str]:
    """Thirteen assistants of the default project, seven of them made in one millisecond (as a
    busy server makes them): their names in (created_at, id) order."""
    moments = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=m) for m in (1, 2, 2)]
    made = [
        AssistantDocument(project_id="proj_default", model="threadline/scripted", created_at=at)
        for at in [moments[0]] * 3 + [moments[1]] * 7 + [moments[2]] * 3
    ]
    made.sort(key=lambda document: (document.created_at, document.id))
    for number, document in enumerate(made):
        document.name = f"t{number:02}"
    await AssistantDocument.insert_many(made)
    return [document.name or "" for document in made]


@pytest.mark.parametrize("size", [1, 2, 4, 13])
async def test_items_made_in_one_millisecond_are_paged_exactly(
    gql: GraphQLClient, size: int
) -> None:
    """A cursor is (created_at, id): among items that share a created_at, pages go on by id,
    none repeated or skipped, in both orders and both directions."""
    expected = await made_in_the_same_milliseconds()
    assert await walk_forwards(gql, "ASC", size) == expected
    assert await walk_forwards(gql, "DESC", size) == expected[::-1]
    assert await walk_backwards(gql, "ASC", size) == expected
    assert await walk_backwards(gql, "DESC", size) == expected[::-1]


async def test_a_page_between_two_cursors(gql: GraphQLClient) -> None:
    """`after` and `before` together: the items strictly between them, from either end."""
    expected = await made_in_the_same_milliseconds()
    every = await page(gql, "ASC", first=100)
    cursors = [edge["cursor"] for edge in every["edges"]]
    for low, high in [(1, 11), (3, 6), (0, 12), (4, 5)]:
        between = expected[low + 1 : high]
        for order, inside in (("ASC", between), ("DESC", between[::-1])):
            after, before = (low, high) if order == "ASC" else (high, low)
            window = {"after": cursors[after], "before": cursors[before]}
            assert names(await page(gql, order, first=100, **window)) == inside
            assert names(await page(gql, order, last=100, **window)) == inside
            head = await page(gql, order, first=2, **window)
            assert names(head) == inside[:2]
            assert head["pageInfo"]["hasNextPage"] == (len(inside) > 2)
            assert head["pageInfo"]["hasPreviousPage"] is True
            tail = await page(gql, order, last=2, **window)
            assert names(tail) == inside[-2:]
            assert tail["pageInfo"]["hasPreviousPage"] == (len(inside) > 2)
            assert tail["pageInfo"]["hasNextPage"] is True


async def test_default_page_is_twenty_newest_first(gql: GraphQLClient) -> None:
    await create(gql, *(f"b{index:02}" for index in range(25)))
    connection = (await gql("{ assistants { nodes { name } pageInfo { hasNextPage } } }"))[
        "assistants"
    ]
    assert names(connection) == [f"b{index:02}" for index in range(24, 4, -1)]
    assert connection["pageInfo"]["hasNextPage"] is True


async def test_inserts_between_pages_neither_repeat_nor_skip(gql: GraphQLClient) -> None:
    await create(gql, "c0", "c1", "c2", "c3")
    first = await page(gql, "ASC", first=2)
    assert names(first) == ["c0", "c1"]
    await create(gql, "c4")  # lands after the cursor: the walk reaches it
    second = await page(gql, "ASC", first=2, after=first["pageInfo"]["endCursor"])
    assert names(second) == ["c2", "c3"]
    third = await page(gql, "ASC", first=2, after=second["pageInfo"]["endCursor"])
    assert names(third) == ["c4"]
    assert third["pageInfo"]["hasNextPage"] is False

    newest = await page(gql, "DESC", first=2)
    assert names(newest) == ["c4", "c3"]
    await create(gql, "c5")  # lands before the cursor: a DESC walk does not see it again
    rest = await page(gql, "DESC", first=10, after=newest["pageInfo"]["endCursor"])
    assert names(rest) == ["c2", "c1", "c0"]


async def test_deleted_cursor_item_still_anchors_the_page(gql: GraphQLClient) -> None:
    await create(gql, "d0", "d1", "d2")
    first = await page(gql, "ASC", first=2)
    doomed = first["edges"][-1]
    ids = (await gql("{ assistants(order: ASC) { nodes { id } } }"))["assistants"]["nodes"]
    await gql("mutation($id: ID!) { deleteAssistant(id: $id) { id } }", id=ids[1]["id"])
    rest = await page(gql, "ASC", first=2, after=doomed["cursor"])
    assert names(rest) == ["d2"]
    assert rest["pageInfo"]["hasPreviousPage"] is True


async def test_empty_connection(gql: GraphQLClient) -> None:
    connection = await page(gql, "DESC", first=5)
    assert connection["nodes"] == []
    assert connection["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


async def test_thread_messages_paginate_and_filter_by_run(gql: GraphQLClient) -> None:
    seeds = [{"content": f"m{index}"} for index in range(7)]
    thread = await gql(
        "mutation($input: CreateThreadInput) { createThread(input: $input) { id } }",
        input={"messages": seeds},
    )
    query = """query($id: ID!, $after: String, $runId: ID) { thread(id: $id) {
      messages(first: 3, after: $after, order: ASC, runId: $runId) {
        nodes { text } pageInfo { hasNextPage endCursor } } } }"""
    thread_id = thread["createThread"]["id"]
    texts: list[str] = []
    after = None
    while True:
        messages = (await gql(query, id=thread_id, after=after))["thread"]["messages"]
        texts += [node["text"] for node in messages["nodes"]]
        if not messages["pageInfo"]["hasNextPage"]:
            break
        after = messages["pageInfo"]["endCursor"]
    assert texts == [f"m{index}" for index in range(7)]
    by_run = (await gql(query, id=thread_id, runId="run_none"))["thread"]["messages"]
    assert by_run["nodes"] == []
