"""Query cost analysis (app/cost.py): the formula pinned by exact costs, the limit at its edge,
and the cost reported in every answer's extensions."""

import json
from typing import Any

import pytest
from fastapi import FastAPI
from graphql import get_introspection_query

from tests.apps import app_with
from tests.graphql import GraphQLClient
from tests.runs import new_assistant, start_run
from tests.ws import Live, connect

DEFAULT_LIMIT = 5000
MESSAGE_PAGE = """query($id: ID!) { thread(id: $id) { messages(first: 100) { nodes { id text
  content { ... on TextContent { text { value } } } } } } }"""
ANNOTATED_PAGE = """query($id: ID!) { thread(id: $id) { messages(first: 100) { nodes { id
  content { ... on TextContent { text { value annotations {
    ... on FileCitationAnnotation { fileId } } } } } } } } }"""


def nested_runs(levels: int) -> str:
    """The issue's query: a thread's runs' thread's runs…, `levels` connections deep."""
    inner = "id"
    for level in range(levels):
        argument = "(id: $id)" if level == levels - 1 else ""
        inner = f"thread{argument} {{ runs(first: 100) {{ nodes {{ {inner} }} }} }}"
    return f"query($id: ID!) {{ {inner} }}"


def cost(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["extensions"]["cost"]
    return value


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        # One object; scalars are free.
        ('{ assistant(id: "asst_none") { id name model } }', {}, 1),
        ("{ __typename }", {}, 0),
        # A connection is 1, its nodes the default page of 20.
        ("{ assistants { nodes { id } } }", {}, 21),
        # Edges are objects too, each holding its node; pageInfo is one object.
        ("{ assistants { edges { cursor node { id } } pageInfo { hasNextPage } } }", {}, 42),
        ("{ assistants(last: 3) { nodes { id } } }", {}, 4),
        # Lists that are not paginated count as 5: thread 1, connection 1, 100 * (message 1
        # + 5 * (TextContent 1 + TextValue 1)).
        (MESSAGE_PAGE, {"id": "thread_none"}, 1102),
        # … and annotations 5 more per text: 100 * (1 + 5 * (1 + 1 + 5)).
        (ANNOTATED_PAGE, {"id": "thread_none"}, 3602),
        # Nested connections multiply: 1 + 10 * (thread 1 + connection 1 + 10 messages).
        ("{ threads(first: 10) { nodes { messages(first: 10) { nodes { id } } } } }", {}, 121),
        # Page sizes from variables, given or defaulted.
        ("query($n: Int) { assistants(first: $n) { nodes { id } } }", {"n": 50}, 51),
        ("query($n: Int = 7) { assistants(first: $n) { nodes { id } } }", {}, 8),
        ("query($n: Int = 7) { assistants(last: $n) { nodes { id } } }", {"n": 2}, 3),
        # Fragments count as their fields: thread 1, runs 1, 5 * (run 1 + steps 1 + 20).
        (
            """query { thread(id: "thread_none") { ...T } }
            fragment T on Thread { runs(first: 5) { nodes { id ...R } } }
            fragment R on Run { steps { nodes { id } } }""",
            {},
            112,
        ),
        # A field selected directly and through fragments is one field: 1 + 5 tools.
        (
            """{ assistant(id: "asst_none") { tools { type } ...A ...A } }
            fragment A on Assistant { tools { function { name } } }""",
            {},
            1 + 5 * (1 + 1),
        ),
        # An interface or union: the costliest branch, 1 + max(1 + 3, 1 + 20).
        (
            """{ node(id: "thread_none") { ... on Thread { runs(first: 3) { nodes { id } } }
            ... on Run { steps { nodes { id } } } } }""",
            {},
            22,
        ),
        # Skipped fields cost nothing.
        (
            """query($no: Boolean!) { a: assistants @skip(if: true) { nodes { id } }
            b: assistants @include(if: $no) { nodes { id } } c: assistants { nodes { id } } }""",
            {"no": False},
            21,
        ),
        # searchVectorStore returns maxNumResults results at most.
        ('{ searchVectorStore(id: "vs_none", query: "x", maxNumResults: 7) { fileId } }', {}, 7),
        # Introspection is one: the schema, from memory.
        ("{ __schema { types { name fields { name } } } }", {}, 1),
    ],
)
async def test_costs(
    gql: GraphQLClient, query: str, variables: dict[str, Any], expected: int
) -> None:
    body = await gql.execute(query, **variables)
    assert cost(body) == {"requested": expected, "limit": DEFAULT_LIMIT}, body


async def test_a_documents_kept_cost_follows_the_variables_it_depends_on(
    gql: GraphQLClient,
) -> None:
    """Costs are kept per document (app/cost.py: Costs): sent again with another page size or
    condition, the same document costs what those say; with other ids, the same."""
    query = """query($id: ID!, $n: Int, $more: Boolean!) { thread(id: $id) {
      runs(first: $n) @include(if: $more) { nodes { id } } } }"""
    asked = [
        ({"id": "thread_a", "n": 2, "more": False}, 1),
        ({"id": "thread_b", "n": 2, "more": True}, 1 + 1 + 2),
        ({"id": "thread_c", "n": 50, "more": True}, 1 + 1 + 50),
        ({"id": "thread_d", "n": 50, "more": False}, 1),
        ({"id": "thread_e", "n": 2, "more": True}, 1 + 1 + 2),
        ({"id": "thread_f", "more": True}, 1 + 1 + 20),
    ]
    for variables, expected in [*asked, *asked]:
        body = await gql.execute(query, **variables)
        assert cost(body)["requested"] == expected, variables


async def test_out_of_range_page_sizes_cost_the_largest_page(gql: GraphQLClient) -> None:
    """The resolver refuses them; costed as 100, the limit does not hide its clearer error."""
    body = await gql.execute("{ assistants(first: 500) { nodes { id } } }")
    assert cost(body)["requested"] == 101
    assert "between 1 and 100" in body["errors"][0]["message"]


async def test_just_under_and_just_over_the_limit(app: FastAPI, dev_key: str) -> None:
    async with app_with(app, dev_key, max_query_cost=21) as client:
        inside = await client.execute("{ assistants(first: 20) { nodes { id } } }")
        over = await client.execute("{ assistants(first: 21) { nodes { id } } }")
    assert inside["data"] == {"assistants": {"nodes": []}}
    assert cost(inside) == {"requested": 21, "limit": 21}
    assert over["data"] is None
    error = over["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "cost": 22, "limit": 21}
    assert "cost is 22, over the limit of 21" in error["message"]
    assert cost(over) == {"requested": 22, "limit": 21}


async def test_a_mutation_over_the_limit_writes_nothing(
    app: FastAPI, dev_key: str, gql: GraphQLClient
) -> None:
    threads = "{ threads { nodes { id } } }"
    costly = "mutation { createThread { id messages { nodes { id } } } }"  # 1 + 1 + 20
    async with app_with(app, dev_key, max_query_cost=21) as client:
        refused = await client.execute(costly)
        assert (await gql(threads))["threads"]["nodes"] == []
        cheap = await client.execute("mutation { createThread { id } }")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert cost(refused) == {"requested": 22, "limit": 21}
    # Within the limit, the same mutation writes: the refusal was the cost, not the mutation.
    listed = (await gql(threads))["threads"]["nodes"]
    assert listed == [{"id": cheap["data"]["createThread"]["id"]}]


@pytest.mark.parametrize(("levels", "expected"), [(3, 1_030_302), (4, 103_030_302)])
async def test_the_issues_nested_queries_are_refused(
    gql: GraphQLClient, levels: int, expected: int
) -> None:
    thread = (await gql("mutation { createThread { id } }"))["createThread"]["id"]
    body = await gql.execute(nested_runs(levels), id=thread)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"cost is {expected}, over the limit of {DEFAULT_LIMIT}" in body["errors"][0]["message"]
    # Two levels are 10,302: refused too.
    assert cost(await gql.execute(nested_runs(2), id=thread))["requested"] == 10_302


async def test_zero_switches_the_limit_off(app: FastAPI, dev_key: str) -> None:
    async with app_with(app, dev_key, max_query_cost=0) as client:
        body = await client.execute(nested_runs(3), id="thread_none")
    assert body["data"] == {"thread": None}
    assert cost(body) == {"requested": 1_030_302, "limit": None}


async def test_graphiqls_introspection_is_allowed(app: FastAPI, dev_key: str) -> None:
    """GraphiQL loads the schema with this query; even a limit of 1 lets it through."""
    async with app_with(app, dev_key, max_query_cost=1) as client:
        body = await client.execute(get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert cost(body) == {"requested": 1, "limit": 1}


EVENT = """subscription($runId: ID!) { runEvents(runId: $runId) { sequence event
  ... on RunStatusEvent { run { id status } }
  ... on MessageEvent { message { id content { ... on TextContent { text { value } } } } } } }"""
# One event: the event 1 + its costliest branch, a message 1 + 5 * (content 1 + text 1).
EVENT_COST = 1 + 1 + 5 * 2
COSTLY_EVENT = """subscription($runId: ID!) { runEvents(runId: $runId) { sequence
  ... on RunStatusEvent { run { thread { runs(first: 100) { nodes { steps(first: 100) {
    nodes { id } } } } } } } } }"""


async def test_a_subscription_is_costed_per_event(gql: GraphQLClient, live: Live) -> None:
    run = await start_run(gql, await new_assistant(gql), "Hello")
    async with connect(live.ws_url, payload=live.payload) as socket:
        payloads = [await first_payload(socket, "1", EVENT, run["id"])]
        payloads.append(await first_payload(socket, "2", COSTLY_EVENT, run["id"]))
    assert payloads[0]["data"]["runEvents"]["event"] == "thread.created"
    assert payloads[0]["extensions"]["cost"] == {"requested": EVENT_COST, "limit": DEFAULT_LIMIT}
    # 1 + run 1 + thread 1 + runs 1 + 100 * (run 1 + steps 1 + 100): refused before a resolver.
    assert payloads[1]["extensions"]["cost"] == {"requested": 10_204, "limit": DEFAULT_LIMIT}
    assert "cost is 10204" in payloads[1]["errors"][0]["message"]


async def first_payload(socket: Any, operation: str, query: str, run_id: str) -> dict[str, Any]:
    """The first `next` (or the errors) of a subscription, which is then stopped."""
    payload = {"query": query, "variables": {"runId": run_id}}
    await socket.send(json.dumps({"type": "subscribe", "id": operation, "payload": payload}))
    while True:
        message = json.loads(await socket.recv())
        if message.get("id") == operation and message["type"] in ("next", "error"):
            await socket.send(json.dumps({"type": "complete", "id": operation}))
            result: dict[str, Any] = message["payload"]
            return result
