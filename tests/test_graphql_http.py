"""GraphQL over HTTP as its spec says: a client that accepts `application/graphql-response+json`
gets that type and a refused request's status (401, 429 with Retry-After); one that accepts
`application/json` gets 200 with the errors (and still Retry-After); a document with several
operations needs `operationName`."""

from typing import Any

import httpx
from fastapi import FastAPI

from tests.apps import app_with
from tests.conftest import client
from tests.graphql import GraphQLClient

RESPONSE_JSON = "application/graphql-response+json"
QUERY = {"query": "{ assistants { nodes { id } } }"}
TWO_OPERATIONS = "query First { __typename } query Second { assistants { nodes { id } } }"


def code(response: httpx.Response) -> str:
    value: str = response.json()["errors"][0]["extensions"]["code"]
    return value


async def test_a_missing_or_bad_key_is_401_for_graphql_response_json(app: FastAPI) -> None:
    async with client(app) as anonymous:
        for headers in ({}, {"Authorization": "Bearer tl-proj-not-a-key"}):
            modern = await anonymous.post(
                "/graphql", json=QUERY, headers={**headers, "Accept": RESPONSE_JSON}
            )
            assert modern.status_code == 401
            assert modern.headers["content-type"].startswith(RESPONSE_JSON)
            assert code(modern) == "UNAUTHENTICATED"
            legacy = await anonymous.post(
                "/graphql", json=QUERY, headers={**headers, "Accept": "application/json"}
            )
            assert legacy.status_code == 200
            assert legacy.headers["content-type"].startswith("application/json")
            assert code(legacy) == "UNAUTHENTICATED"


async def test_a_rate_limit_is_429_with_retry_after(app: FastAPI, dev_key: str) -> None:
    async with app_with(app, dev_key, rate_limit="1/minute") as gql:
        accepted = await gql.http.post("/graphql", json=QUERY, headers={"Accept": RESPONSE_JSON})
        assert accepted.status_code == 200
        assert accepted.headers["content-type"].startswith(RESPONSE_JSON)
        assert "retry-after" not in accepted.headers
        modern = await gql.http.post("/graphql", json=QUERY, headers={"Accept": RESPONSE_JSON})
        legacy = await gql.http.post("/graphql", json=QUERY)
    assert (modern.status_code, legacy.status_code) == (429, 200)
    for refused in (modern, legacy):
        assert code(refused) == "RATE_LIMITED"
        retry = refused.json()["errors"][0]["extensions"]["retryAfterSeconds"]
        assert int(refused.headers["retry-after"]) == max(1, -(-retry // 1))
        assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_several_operations_need_an_operation_name(gql: GraphQLClient) -> None:
    unnamed = await gql.execute(TWO_OPERATIONS)
    assert unnamed["data"] is None
    error: dict[str, Any] = unnamed["errors"][0]
    assert error["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    response = await gql.http.post(
        "/graphql", json={"query": TWO_OPERATIONS, "operationName": "Second"}
    )
    assert response.json() == {
        "data": {"assistants": {"nodes": []}},
        "extensions": response.json()["extensions"],
    }
    one = await gql.execute("query Only { __typename }")
    assert one["data"] == {"__typename": "Query"}
