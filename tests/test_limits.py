"""Each request limit: just inside passes, just outside fails with a clear code."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from graphql import Lexer, Source, TokenKind

from tests.apps import app_with
from tests.graphql import GraphQLClient, bearer

# Depths as QueryDepthLimiter counts them (the top-level field is depth 0).
DEPTH_3 = "{ assistants { nodes { tools { type } } } }"
DEPTH_4 = "{ assistants { nodes { tools { function { name } } } } }"


def tokens(query: str) -> int:
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def code(body: dict[str, Any]) -> str:
    value: str = body["errors"][0]["extensions"]["code"]
    return value


async def test_query_depth(app: FastAPI, dev_key: str, gql: GraphQLClient) -> None:
    async with app_with(app, dev_key, max_query_depth=3) as client:
        assert "errors" not in await client.execute(DEPTH_3)
        body = await client.execute(DEPTH_4)
    assert code(body) == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]


async def test_aliases(app: FastAPI, dev_key: str, gql: GraphQLClient) -> None:
    def aliased(count: int) -> str:
        return (
            "{ " + " ".join(f"a{i}: assistants {{ nodes {{ id }} }}" for i in range(count)) + " }"
        )

    async with app_with(app, dev_key, max_aliases=3) as client:
        assert "errors" not in await client.execute(aliased(3))
        body = await client.execute(aliased(4))
    assert code(body) == "BAD_USER_INPUT"
    assert "aliases" in body["errors"][0]["message"]


async def test_tokens(app: FastAPI, dev_key: str, gql: GraphQLClient) -> None:
    inside = "{ assistants { nodes { " + "id " * 20 + "} } }"
    async with app_with(app, dev_key, max_tokens=tokens(inside)) as client:
        assert "errors" not in await client.execute(inside)
        body = await client.execute(inside.replace("id ", "id id ", 1))
    assert code(body) == "BAD_USER_INPUT"
    assert "tokens" in body["errors"][0]["message"]


async def test_body_size(app: FastAPI, dev_key: str, gql: GraphQLClient) -> None:
    body = json.dumps({"query": "{ assistants { nodes { id } } }"}).encode()
    headers = {"content-type": "application/json"}

    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        yield data[:10]
        yield data[10:]

    async with app_with(app, dev_key, max_body_bytes=len(body) + 1) as client:
        post = client.http.post
        assert (await post("/graphql", content=body + b" ", headers=headers)).status_code == 200
        too_big = await post("/graphql", content=body + b"  ", headers=headers)
        streamed = await post("/graphql", content=chunked(body + b"  "), headers=headers)
        fits = await post("/graphql", content=chunked(body), headers=headers)
    for refused in (too_big, streamed):
        assert refused.status_code == 413
        assert code(refused.json()) == "BAD_USER_INPUT"
        assert "THREADLINE_MAX_BODY_BYTES" in refused.json()["errors"][0]["message"]
    assert fits.json()["data"] == {"assistants": {"nodes": []}}


async def test_operation_timeout(app: FastAPI, dev_key: str, gql: GraphQLClient) -> None:
    async with app_with(app, dev_key, operation_timeout_seconds=1e-6) as client:
        body = await client.execute("{ assistants { nodes { id } } }")
    assert code(body) == "BAD_USER_INPUT"
    assert "took longer than" in body["errors"][0]["message"]
    # The default (10 s) lets the same query through.
    assert "errors" not in await gql.execute("{ assistants { nodes { id } } }")


async def test_rate_limit_per_key(
    app: FastAPI, dev_key: str, admin_key: str, gql: GraphQLClient
) -> None:
    query = "{ assistants { nodes { id } } }"
    async with app_with(app, dev_key, rate_limit="3/minute") as client:
        for _ in range(3):
            assert "errors" not in await client.execute(query)
        limited = await client.execute(query)
        # Another key has its own budget.
        other = await client.http.post(
            "/graphql", json={"query": "{ projects { nodes { id } } }"}, headers=bearer(admin_key)
        )
    assert code(limited) == "RATE_LIMITED"
    assert 1 <= limited["errors"][0]["extensions"]["retryAfterSeconds"] <= 60
    assert "errors" not in other.json()


async def test_batching_is_off(gql: GraphQLClient) -> None:
    response = await gql.http.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    assert response.status_code == 400
    assert code(response.json()) == "BAD_USER_INPUT"
    assert "Batching is not enabled" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 400),  # a plain GET is what a cross-site <img> or link would send
        ({"content-type": "text/plain"}, 400),
        ({"content-type": "application/json"}, 200),
        ({"apollo-require-preflight": "true"}, 200),
    ],
)
async def test_queries_over_get_need_a_preflighted_header(
    gql: GraphQLClient, headers: dict[str, str], expected: int
) -> None:
    params = {"query": "{ assistants { nodes { id } } }"}
    response = await gql.http.get("/graphql", params=params, headers=headers)
    assert response.status_code == expected, response.text
    if expected == 400:
        assert code(response.json()) == "BAD_USER_INPUT"
        assert "preflight" in response.json()["errors"][0]["message"]


async def test_no_mutations_over_get(gql: GraphQLClient) -> None:
    params = {"query": "mutation { createThread { id } }"}
    headers = {"content-type": "application/json"}
    response = await gql.http.get("/graphql", params=params, headers=headers)
    assert response.status_code in (400, 405)
    assert code(response.json()) == "BAD_USER_INPUT"
    assert "mutations are not allowed" in response.json()["errors"][0]["message"]
    assert (await gql('{ node(id: "thread_x") { id } }'))["node"] is None
    listed = await gql("query { assistants { nodes { id } } }")
    assert listed["assistants"]["nodes"] == []


INTROSPECTION = "{ __schema { types { name } } }"
TYPO_FIELD = "{ assistans { nodes { id } } }"
TYPO_ENUM = "{ assistants(order: DES) { nodes { id } } }"


async def test_development_serves_introspection_graphiql_and_suggestions(
    gql: GraphQLClient,
) -> None:
    assert "errors" not in await gql.execute(INTROSPECTION)
    page = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    for typo in (TYPO_FIELD, TYPO_ENUM):
        assert "Did you mean" in (await gql.error(typo))["message"]


async def test_production_hides_introspection_graphiql_and_suggestions(
    app: FastAPI, dev_key: str, gql: GraphQLClient
) -> None:
    async with app_with(app, dev_key, env="production") as client:
        introspection = await client.execute(INTROSPECTION)
        page = await client.http.get("/graphql", headers={"Accept": "text/html"})
        assets = await client.http.get("/graphiql-assets/graphiql@3.8.3/graphiql.min.js")
        typos = [await client.error(typo) for typo in (TYPO_FIELD, TYPO_ENUM)]
        assert "errors" not in await client.execute("{ assistants { nodes { id } } }")
    assert code(introspection) == "BAD_USER_INPUT"
    assert "introspection" in introspection["errors"][0]["message"].lower()
    assert page.status_code == 404
    assert "graphiql" not in page.text.lower()
    assert assets.status_code == 404
    for error in typos:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Did you mean" not in error["message"], error
