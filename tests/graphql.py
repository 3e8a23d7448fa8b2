"""A small GraphQL-over-HTTP client for tests, with helpers to assert errors."""

import json
from typing import IO, Any

import httpx


class GraphQLError(AssertionError):
    pass


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


UPLOAD_FILE = """
mutation($file: Upload!, $purpose: FilePurpose!, $expiresAfter: FileExpiresAfterInput) {
  uploadFile(file: $file, purpose: $purpose, expiresAfter: $expiresAfter) {
    id bytes filename purpose status contentType createdAt expiresAt downloadUrl
  }
}"""


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

    async def upload_response(
        self,
        filename: str,
        content: bytes | IO[bytes],
        purpose: str = "ASSISTANTS",
        headers: dict[str, str] | None = None,
        **variables: Any,
    ) -> httpx.Response:
        """`uploadFile` as the GraphQL multipart request spec sends it."""
        operations = {
            "query": UPLOAD_FILE,
            "variables": {"file": None, "purpose": purpose, **variables},
        }
        return await self.http.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": (filename, content)},
            headers={"apollo-require-preflight": "true"} if headers is None else headers,
        )

    async def upload(
        self,
        filename: str,
        content: bytes | IO[bytes],
        purpose: str = "ASSISTANTS",
        **variables: Any,
    ) -> dict[str, Any]:
        """The uploaded file's fields; the upload must succeed."""
        body = (await self.upload_response(filename, content, purpose, **variables)).json()
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        file: dict[str, Any] = body["data"]["uploadFile"]
        return file

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
