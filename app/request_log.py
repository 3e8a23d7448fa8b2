"""One log line per HTTP request: method, path, status and duration, and for GraphQL the
operation's name and the caller's project, noted while the request is served (`note`).
Health probes are logged only when they fail: an orchestrator asks every few seconds.
The request is counted and timed for /metrics here too, by its route's template."""

import time
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

log = structlog.get_logger(__name__)
QUIET_PATHS = {"/healthz", "/readyz"}

_fields: ContextVar[dict[str, object] | None] = ContextVar("request_log_fields", default=None)


def note(**fields: object) -> None:
    """Adds to this request's log line (nothing outside a request)."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts
        fields: dict[str, object] = {}
        token = _fields.set(fields)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _fields.reset(token)
            metrics.observe_request(scope["method"], route_template(scope), status, started)
            path = scope["path"]
            if path not in QUIET_PATHS or status != 200:
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    **fields,
                )


def route_template(scope: Scope) -> str:
    """The matched route as written (`/v1/threads/{thread_id}`), not the path asked for: a
    label per route, not per id. FastAPI keeps the full one (prefixes included) in its own
    part of the scope; a route's own path lacks its router's prefix."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    starlette_route = getattr(effective, "starlette_route", None)
    for template in (
        getattr(starlette_route, "path_format", None),
        getattr(effective, "path_format", None),
        getattr(scope.get("route"), "path_format", None),
    ):
        if isinstance(template, str) and template:
            return template
    return "unmatched"
