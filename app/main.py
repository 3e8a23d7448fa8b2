"""`create_app()`: the FastAPI application, with a lifespan that owns every resource."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.requests import HTTPConnection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from app.context import Context
from app.embedded_db import EmbeddedDatabase
from app.graphiql import OfflineGraphQLRouter, mount_graphiql_assets
from app.logging import configure_logging
from app.settings import Settings
from engine.engine import Engine
from models.database import Database
from models.project import ensure_default_project
from schema.schema import schema

log = structlog.get_logger()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded = None
        uri = settings.mongodb_uri
        if uri is None:
            # Started from the main thread: the child's "die with my parent" is tied to it.
            embedded = EmbeddedDatabase(settings.data_dir.resolve())
            uri = embedded.start()
        database = Database(uri, settings.database_name)
        try:
            await database.connect()
            app.state.project_id = (await ensure_default_project()).id
            engine.start()
            log.info("threadline_ready", host=settings.host, port=settings.port)
            yield
        finally:
            await engine.stop()
            await database.close()
            if embedded is not None:
                embedded.stop()

    engine = Engine(settings)

    async def get_context(connection: HTTPConnection) -> Context:
        """For HTTP requests and websockets alike."""
        project_id = connection.app.state.project_id
        return Context(project_id=project_id, settings=settings, engine=engine)

    app = FastAPI(title="Threadline", lifespan=lifespan)
    app.state.engine = engine
    graphql = OfflineGraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql",
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
    )
    app.include_router(graphql, prefix="/graphql")
    mount_graphiql_assets(app)
    return app
