"""A small GraphQL-over-HTTP client for tests, with helpers to assert errors."""

from typing import Any

import httpx


class GraphQLError(AssertionError):
    pass


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        """The whole response body (data and errors)."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a query that must succeed."""
        body = await self.execute(query, **variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    async def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """The first error of a query that must fail."""
        body = await self.execute(query, **variables)
        assert body.get("errors"), f"expected an error, got {body}"
        error: dict[str, Any] = body["errors"][0]
        return error


class ProjectClient(GraphQLClient):
    """A client for a project made in a test, with its key's id and secret."""

    def __init__(self, http: httpx.AsyncClient, project_id: str, key_id: str, key: str) -> None:
        super().__init__(http)
        self.project_id = project_id
        self.key_id = key_id
        self.key = key
