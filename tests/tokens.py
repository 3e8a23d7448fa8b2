"""Client tokens in tests: minted by a project key through the API, used over real HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from tests.graphql import GraphQLClient, bearer

MINT = """mutation($input: CreateClientTokenInput!) {
  createClientToken(input: $input) { token expiresAt subject assistantIds } }"""


async def mint(
    backend: GraphQLClient, subject: str, assistant_ids: list[str], **fields: Any
) -> str:
    """A token for `subject`, from the backend's project key."""
    data = await backend(MINT, input={"subject": subject, "assistantIds": assistant_ids, **fields})
    token: str = data["createClientToken"]["token"]
    return token


@asynccontextmanager
async def as_client(app: FastAPI, token: str) -> AsyncIterator[GraphQLClient]:
    """Real HTTP into the app with `Authorization: Bearer <token>`."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://threadline.test", headers=bearer(token)
    ) as http:
        yield GraphQLClient(http)
