"""Prometheus metrics, `GET /metrics` (prometheus-client's text format; the admin key in
production, as a bearer token: Prometheus sends one).

Every metric is defined here; the code that sees the thing happen counts it. With several
server processes (THREADLINE_PROCESSES), prometheus-client's multiprocess mode adds them up:
each process writes its samples under PROMETHEUS_MULTIPROC_DIR, which `threadline run` empties
and sets before they start, and /metrics reads them all. A worker process serves the same on
THREADLINE_WORKER_HEALTH_PORT (app/worker.py)."""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from models.errors import RateLimited, Unauthenticated

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Operation names are the client's: past this many distinct ones, the rest count as "other".
MAX_OPERATION_NAMES = 200
RUN_SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_REQUESTS = Counter(
    "threadline_http_requests",
    "HTTP requests answered, by method, route (its template) and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "threadline_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body), by method and route.",
    ["method", "route"],
)
GRAPHQL_OPERATIONS = Counter(
    "threadline_graphql_operations",
    "GraphQL operations started, by type (query, mutation, subscription) and name.",
    ["type", "name"],
)
GRAPHQL_ERRORS = Counter(
    "threadline_graphql_errors",
    "GraphQL errors answered, by extensions.code.",
    ["code"],
)
RUNS_CREATED = Counter("threadline_runs_created", "Runs created.")
RUNS_ENDED = Counter(
    "threadline_runs_ended", "Runs that reached a final status, by that status.", ["status"]
)
RUN_SECONDS = Histogram(
    "threadline_run_duration_seconds",
    "From a run's creation to its final status.",
    buckets=RUN_SECONDS_BUCKETS,
)
RUN_QUEUE_SECONDS = Histogram(
    "threadline_run_queue_wait_seconds",
    "From a run's creation to its first claim by a worker.",
    buckets=RUN_SECONDS_BUCKETS,
)
RUNS_IN_PROGRESS = Gauge(
    "threadline_runs_executing",
    "Runs this process's workers are executing now.",
    multiprocess_mode="livesum",
)
RUN_TAKEOVERS = Counter(
    "threadline_run_takeovers",
    "Runs claimed while already in progress: their worker's lease lapsed (it died or stalled).",
)
MODEL_CALLS = Counter(
    "threadline_model_calls", "Model calls, by model and outcome (ok, error).", ["model", "outcome"]
)
MODEL_TOKENS = Counter(
    "threadline_model_tokens",
    "Tokens of model calls, by model and kind (prompt, completion).",
    ["model", "kind"],
)
WEBSOCKETS_OPEN = Gauge(
    "threadline_websockets_open", "Open GraphQL websockets.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "threadline_subscriptions_active",
    "Subscriptions being served (runEvents, threadEvents).",
    multiprocess_mode="livesum",
)
EVENTS_SENT = Counter("threadline_events_sent", "Run events sent to subscribers.")
WORK_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
SANDBOX_CALLS = Counter(
    "threadline_sandbox_calls",
    "code_interpreter calls, by outcome: ok, error (the code raised), limit (a limit ended it), "
    "unavailable (no sandbox could be made), broken (the session broke).",
    ["outcome"],
)
SANDBOX_SECONDS = Histogram(
    "threadline_sandbox_call_seconds",
    "A code_interpreter call, from asking for its session to its outputs stored.",
    buckets=WORK_SECONDS_BUCKETS,
)
INGESTIONS = Counter(
    "threadline_file_ingestions",
    "Files ingested for vector stores, by how the attempt ended: completed, failed (with its "
    "last_error code), or stopped (released, or taken over by another worker).",
    ["outcome"],
)
INGESTION_SECONDS = Histogram(
    "threadline_file_ingestion_seconds",
    "A file's ingestion attempt, from its claim to its end (extract, chunk, embed, store).",
    buckets=WORK_SECONDS_BUCKETS,
)

_operation_names: set[str] = set()


def operation_started(kind: str, name: str | None) -> None:
    label = name or ""
    if label and label not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            label = "other"
        else:
            _operation_names.add(label)
    GRAPHQL_OPERATIONS.labels(type=kind, name=label).inc()


@contextmanager
def held(gauge: Gauge) -> Iterator[None]:
    """The gauge counts this while it lasts."""
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def observe_request(method: str, route: str, status: int, started: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_SECONDS.labels(method=method, route=route).observe(time.perf_counter() - started)


def exposition() -> bytes:
    """Every process's samples in multiprocess mode, else this one's."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_ended() -> None:
    """A server process stops: its live gauges stop counting (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    if request.app.state.settings.production:
        from app.fairness import authenticate, client_address  # it counts errors from here

        try:
            # As every keyed route does: a bad key counts against its address.
            caller = await authenticate(
                request.app.state.authenticator,
                getattr(request.app.state, "fairness", None),
                request.headers.get("authorization"),
                client_address(request),
            )
        except (Unauthenticated, RateLimited) as error:
            return JSONResponse({"error": error.message}, status_code=401)
        if not caller.is_admin:
            return JSONResponse({"error": "Metrics need the admin key."}, status_code=403)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
