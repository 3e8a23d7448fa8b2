"""`create_app()`: the FastAPI application, with a lifespan that owns every resource."""

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI, Request
from starlette.requests import HTTPConnection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

import rest
from app import tracing
from app.auth import Authenticator, Principal
from app.body_limit import BodySizeLimit
from app.client_tokens import ClientTokens
from app.context import Context
from app.embedded_db import EmbeddedDatabase
from app.examples import router as examples_router
from app.fairness import Concurrency, Fairness, client_address
from app.files import router as files_router
from app.graphiql import mount_graphiql_assets
from app.health import router as health_router
from app.keys import admin_key, ensure_dev_key, token_secret
from app.limits import limit_extensions, rate_limiter
from app.logging import configure_logging
from app.metrics import process_ended
from app.metrics import router as metrics_router
from app.origins import add_cors
from app.request_log import RequestLog
from app.router import ThreadlineRouter, is_loopback
from app.settings import Settings
from app.shutdown import close_websockets_first
from app.ws_size import WebSocketMessageLimit
from engine.engine import Engine
from models.database import Database
from models.project import DEFAULT_PROJECT_ID
from schema.schema import build_schema
from services import Services
from services.runs import Runs

log = structlog.get_logger(__name__)
# `guarded=False` (benchmarks only, never from the environment): every request is the
# default project's, with no limit. It measures what authentication and limits cost.
UNGUARDED = Principal(key_id="unguarded", project_id=DEFAULT_PROJECT_ID)


def create_app(
    settings: Settings | None = None,
    *,
    guarded: bool = True,
    embedded: EmbeddedDatabase | None = None,
) -> FastAPI:
    """Called with no argument by each of `threadline run`'s processes (uvicorn's factory)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_levels)
    traced = tracing.start("server")  # before the database's and the models' clients are made

    # Used only without THREADLINE_MONGODB_URI; `threadline run` claims its folder before serving.
    served = embedded or EmbeddedDatabase(settings.data_dir.resolve(), owner=settings.address)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        undo_signals: Callable[[], None] = lambda: None  # noqa: E731 - until started
        uri = settings.mongodb_uri
        if uri is None:
            # Started from the main thread: the child's "die with my parent" is tied to it.
            uri = served.start()
        database = Database(uri, settings.database_name)
        try:
            await database.connect(settings.run_lease_seconds)
            tokens = ClientTokens(token_secret(settings))
            app.state.authenticator = Authenticator(
                admin_key(settings), tokens, key_cache_seconds=settings.ws_auth_recheck_seconds
            )
            app.state.dev_key = await ensure_dev_key(settings)
            if limits is not None:
                limits.shared.start()
            engine.start()
            # What is loaded by now (the tokenizers' vocabularies above all) lives as long as the
            # process: kept out of the collector's full passes, which otherwise walk it all and
            # stalled the event loop for 0.4-0.6 s at a time under a big query (issue 12).
            gc.collect()
            gc.freeze()
            app.state.database = database  # /readyz asks it
            undo_signals = close_websockets_first()
            log.info("threadline_ready", host=settings.host, port=settings.port)
            yield
        finally:
            app.state.database = None  # draining: not ready for more
            undo_signals()
            await engine.stop()
            if limits is not None:
                await limits.shared.stop()
            await database.close()
            served.stop()  # nothing to do unless it was started
            process_ended()
            tracing.flush()

    engine = Engine(settings)
    services = Services.build(
        engine.catalog,
        Runs(engine.runs),
        settings.max_file_bytes,
        engine.ingestion.wake,
        engine.searcher,
    )

    async def get_context(connection: HTTPConnection) -> Context:
        context = Context(settings, connection.app.state.authenticator, engine, services)
        context.fairness = fairness
        context.address = client_address(connection)
        if not guarded:
            context.principal = UNGUARDED
        elif connection.scope["type"] == "http" and "authorization" in connection.headers:
            await context.authenticate(connection.headers["authorization"])
        return context

    def graphiql_headers(request: Request) -> dict[str, str] | None:
        """The dev key, for a browser on this machine asking a loopback address."""
        dev_key: str | None = request.app.state.dev_key
        if dev_key is None or settings.production or not is_loopback(request):
            return None
        return {"Authorization": f"Bearer {dev_key}"}

    # FastAPI's /docs and /redoc load their pages from CDNs: not served. The OpenAPI document
    # of /v1 is, outside production.
    app = FastAPI(
        title="Threadline",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None if settings.production else "/openapi.json",
        telemetry=tracing.fastapi_telemetry(),
    )
    app.state.database = None
    app.state.settings = settings
    app.state.engine = engine
    app.state.services = services
    limits = rate_limiter(settings) if guarded else None
    app.state.rate_limits = limits  # GraphQL's and /v1's: one count per key
    app.state.unguarded = None if guarded else UNGUARDED
    fairness = Fairness(settings) if guarded else None
    app.state.fairness = fairness  # GraphQL's and /v1's: one count per key
    guards = limit_extensions(settings, limits) if guarded else []
    if fairness is not None:
        shared = fairness
        guards.append(lambda: Concurrency(shared))
    graphql = ThreadlineRouter(
        build_schema(guards, production=settings.production, traced=traced),
        context_getter=get_context,
        graphql_ide=None if settings.production else "graphiql",
        multipart_uploads_enabled=True,  # for `uploadFile`, behind the router's CSRF check
        allow_queries_via_get=settings.allow_queries_via_get,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL],
        max_subscriptions_per_connection=settings.ws_max_operations,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_seconds),
        default_headers=graphiql_headers,
        # Websocket handshakes from other sites' pages: refused (403) unless listed.
        allowed_origins=settings.cors_origins,
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(files_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    rest.mount(app)
    if guarded and settings.max_body_bytes:
        app.add_middleware(
            BodySizeLimit,
            max_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_file_bytes,
        )
    if guarded and settings.ws_max_message_bytes:
        app.add_middleware(WebSocketMessageLimit, max_bytes=settings.ws_max_message_bytes)
    add_cors(app, settings.cors_origins)
    app.add_middleware(RequestLog)  # last: outermost, so that every answer is logged
    if not settings.production:
        mount_graphiql_assets(app)
        app.include_router(examples_router)
    return app
