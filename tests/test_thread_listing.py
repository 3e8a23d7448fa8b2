"""`threads(…)`: a project's threads, one owner's, or those with a metadata value, by creation
or by last activity, as Relay pages in both directions."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.graphql import GraphQLClient, ProjectClient
from tests.runs import new_assistant, wait_for

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $order: SortOrder!,
    $orderBy: ThreadOrderBy!, $owner: String, $metadata: JSON) {
  threads(first: $first, after: $after, last: $last, before: $before, order: $order,
      orderBy: $orderBy, owner: $owner, metadata: $metadata) {
    nodes { id metadata owner createdAt lastActivityAt }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
THREAD = """mutation($input: CreateThreadInput) {
  createThread(input: $input) { id owner createdAt lastActivityAt } }"""
MESSAGE = """mutation($t: ID!) { createMessage(threadId: $t, input: {content: "hi"}) {
  createdAt } }"""
DECLARE = """mutation($p: ID!, $keys: [String!]) {
  updateProject(id: $p, input: {indexedMetadataKeys: $keys}) { id indexedMetadataKeys } }"""


def code(body: dict[str, Any]) -> str:
    value: str = body["errors"][0]["extensions"]["code"]
    return value


async def make(gql: GraphQLClient, name: str, owner: str | None = "u", **meta: str) -> str:
    data = await gql(THREAD, input={"owner": owner, "metadata": {"name": name, **meta}})
    return str(data["createThread"]["id"])


async def clock_passes(moment: str) -> None:
    """Until the clock is past `moment` (ISO-8601): what is written next is strictly later."""
    until = datetime.fromisoformat(moment) + timedelta(milliseconds=2)
    while datetime.now(UTC) <= until:
        await asyncio.sleep(0.002)


async def page(gql: GraphQLClient, **arguments: Any) -> dict[str, Any]:
    variables = {"order": "DESC", "orderBy": "LAST_ACTIVITY", "owner": "u", **arguments}
    connection: dict[str, Any] = (await gql(PAGE, **variables))["threads"]
    return connection


def names(connection: dict[str, Any]) -> list[str]:
    return [node["metadata"]["name"] for node in connection["nodes"]]


async def walk(gql: GraphQLClient, size: int, backwards: bool, **arguments: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        if backwards:
            connection = await page(gql, last=size, before=cursor, **arguments)
            seen = names(connection) + seen
            more, cursor = (
                connection["pageInfo"]["hasPreviousPage"],
                connection["pageInfo"]["startCursor"],
            )
        else:
            connection = await page(gql, first=size, after=cursor, **arguments)
            seen += names(connection)
            more, cursor = (
                connection["pageInfo"]["hasNextPage"],
                connection["pageInfo"]["endCursor"],
            )
        if not more:
            return seen


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_newest_activity_first_in_both_directions(gql: GraphQLClient, size: int) -> None:
    made = [await make(gql, f"t{index}") for index in range(7)]
    await make(gql, "someone else's", owner="v")
    last = (await gql("query($t: ID!) { thread(id: $t) { createdAt } }", t=made[-1]))["thread"]
    await clock_passes(last["createdAt"])
    added = (await gql(MESSAGE, t=made[2]))["createMessage"]["createdAt"]
    await clock_passes(added)
    await gql(MESSAGE, t=made[5])
    by_activity = ["t5", "t2", "t6", "t4", "t3", "t1", "t0"]
    assert await walk(gql, size, backwards=False) == by_activity
    assert await walk(gql, size, backwards=True) == by_activity
    assert await walk(gql, size, backwards=False, order="ASC") == by_activity[::-1]
    assert await walk(gql, size, backwards=True, order="ASC") == by_activity[::-1]
    by_creation = [f"t{index}" for index in range(6, -1, -1)]
    assert await walk(gql, size, backwards=False, orderBy="CREATED_AT") == by_creation
    assert await walk(gql, size, backwards=True, orderBy="CREATED_AT") == by_creation


async def test_a_run_is_activity(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    first, second = await make(gql, "first"), await make(gql, "second")
    created = (await gql("query($t: ID!) { thread(id: $t) { createdAt } }", t=second))["thread"]
    await clock_passes(created["createdAt"])
    run = await gql(
        "mutation($t: ID!, $a: ID!) { createRun(threadId: $t, input: {assistantId: $a}) { id } }",
        t=first,
        a=assistant,
    )
    await wait_for(gql, run["createRun"]["id"])
    listed = (await page(gql))["nodes"]
    assert [node["metadata"]["name"] for node in listed] == ["first", "second"]
    assert listed[0]["lastActivityAt"] > listed[0]["createdAt"]
    assert listed[1]["lastActivityAt"] == listed[1]["createdAt"]


async def test_a_cursor_of_another_order_is_refused(gql: GraphQLClient) -> None:
    await make(gql, "a")
    await make(gql, "b")
    by_creation = await page(gql, first=1, orderBy="CREATED_AT")
    body = await gql.execute(
        PAGE,
        order="DESC",
        orderBy="LAST_ACTIVITY",
        owner="u",
        after=by_creation["pageInfo"]["endCursor"],
    )
    assert code(body) == "BAD_USER_INPUT"


@pytest.mark.parametrize("owner", ["", "x" * 257])
async def test_an_owner_has_1_to_256_characters(gql: GraphQLClient, owner: str) -> None:
    assert code(await gql.execute(THREAD, input={"owner": owner})) == "BAD_USER_INPUT"


async def test_metadata_filters_on_declared_keys_only(
    admin: GraphQLClient, other: ProjectClient
) -> None:
    await make(other, "tea-u", topic="tea", lang="en")
    await make(other, "tea-v", owner="v", topic="tea", lang="fr")
    await make(other, "coffee", topic="coffee", lang="en")
    undeclared = await other.execute(
        PAGE, order="DESC", orderBy="CREATED_AT", metadata={"topic": "tea"}
    )
    assert code(undeclared) == "BAD_USER_INPUT"
    assert "indexed metadata keys" in undeclared["errors"][0]["message"]
    assert code(await other.execute(DECLARE, p=other.project_id, keys=["topic"])) == "FORBIDDEN"
    declared = await admin(DECLARE, p=other.project_id, keys=["topic", "lang", "topic"])
    assert declared["updateProject"]["indexedMetadataKeys"] == ["topic", "lang"]

    async def listed(**arguments: Any) -> list[str]:
        variables = {"order": "ASC", "orderBy": "CREATED_AT", **arguments}
        return names((await other(PAGE, **variables))["threads"])

    assert await listed(metadata={"topic": "tea"}) == ["tea-u", "tea-v"]
    assert await listed(metadata={"topic": "tea"}, orderBy="LAST_ACTIVITY") == ["tea-u", "tea-v"]
    assert await listed(metadata={"topic": "tea", "lang": "fr"}) == ["tea-v"]
    assert await listed(metadata={"topic": "tea"}, owner="u") == ["tea-u"]
    assert await listed(metadata={"lang": "en"}) == ["tea-u", "coffee"]
    assert await listed(metadata={"topic": "milk"}) == []
    # A changed value is found under its new value only.
    coffee = await other(PAGE, order="ASC", orderBy="CREATED_AT", metadata={"topic": "coffee"})
    coffee_id = coffee["threads"]["nodes"][0]["id"]
    await other(
        "mutation($t: ID!) { updateThread(id: $t, input: "
        '{metadata: {name: "coffee", topic: "tea"}}) { id } }',
        t=coffee_id,
    )
    assert await listed(metadata={"topic": "tea"}) == ["tea-u", "tea-v", "coffee"]
    assert await listed(metadata={"topic": "coffee"}) == []
    for bad in ({}, {"topic": 1}, ["topic"], {"name": "tea-u"}):
        body = await other.execute(PAGE, order="ASC", orderBy="CREATED_AT", metadata=bad)
        assert code(body) == "BAD_USER_INPUT", bad
    too_many = await admin.execute(DECLARE, p=other.project_id, keys=[f"k{i}" for i in range(17)])
    assert code(too_many) == "BAD_USER_INPUT"
