"""The real app with some settings changed, next to the session's app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.graphql import GraphQLClient, bearer
from tests.servers import InProcessServer


def changed_app(app: FastAPI, **limits: Any) -> FastAPI:
    """The real app with some settings changed. It shares the session app's database and
    keys: its state is copied rather than made by a second lifespan (Beanie is global)."""
    settings: Settings = app.state.settings
    application = create_app(settings.model_copy(update=limits))
    application.state.authenticator = app.state.authenticator
    application.state.dev_key = app.state.dev_key
    application.state.database = app.state.database
    return application


@asynccontextmanager
async def app_with(app: FastAPI, dev_key: str, **limits: Any) -> AsyncIterator[GraphQLClient]:
    """`changed_app`, and a GraphQL client of it with the dev key."""
    transport = httpx.ASGITransport(app=changed_app(app, **limits))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://threadline.test", headers=bearer(dev_key)
    ) as http:
        yield GraphQLClient(http)


@asynccontextmanager
async def serving(app: FastAPI, **limits: Any) -> AsyncIterator[tuple[FastAPI, InProcessServer]]:
    """`changed_app` on a real uvicorn."""
    changed = changed_app(app, **limits)
    async with InProcessServer(changed) as server:
        yield changed, server
