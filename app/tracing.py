"""OpenTelemetry traces, exported over OTLP/HTTP when the standard OTEL_EXPORTER_OTLP_ENDPOINT
(or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Unset, no provider is made, nothing is
instrumented, and every span below is the API's no-op.

The spans: each HTTP request and websocket connection (FastAPI's own telemetry), each GraphQL
query and mutation (`GraphQLSpans`), each MongoDB command (PyMongo's instrumentation), each
model call (`engine/executor.py`, with httpx's span of the HTTP request beneath it), and each
execution of a run in a worker (`run_execution`): a child of the request that created the run,
whose context the run keeps (`current_context`).
The rest of the OTEL_* variables (service name, resource attributes, sampler, headers) are the
SDK's, as documented by OpenTelemetry."""

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import structlog
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app import request_log
from app.errors import code_of
from models.run import RunDocument

log = structlog.get_logger(__name__)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
tracer = trace.get_tracer("threadline")  # follows the provider once one is set

_started = False


def wanted() -> bool:
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return not disabled and any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def start(role: str) -> bool:
    """Once per process (`role`: server or worker), before its database and HTTP clients are
    made, since the instrumentations watch the clients made after them. True when tracing."""
    global _started
    if _started or not wanted():
        return _started
    # The exporter and the instrumentations are imported only when they are used.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import (
        HTTPX2ClientInstrumentor,
        HTTPXClientInstrumentor,
    )
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol != "http/protobuf":
        log.warning("tracing_protocol_ignored", protocol=protocol, exported_as="http/protobuf")
    attributes: dict[str, str] = {"threadline.role": role}
    if SERVICE_NAME not in OTELResourceDetector().detect().attributes:
        attributes[SERVICE_NAME] = "threadline"  # unless OTEL_SERVICE_NAME… names another
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.sampler = WithoutLoneClientSpans(provider.sampler)  # OTEL_TRACES_SAMPLER's
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    PymongoInstrumentor().instrument()  # the command's name only, never its contents
    HTTPX2ClientInstrumentor().instrument()  # the openai SDK's HTTP client
    HTTPXClientInstrumentor().instrument()
    _started = True
    log.info("tracing_started", role=role)
    return True


def flush() -> None:
    """Sends what is still buffered (at shutdown: the SDK also does at exit)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if _started and force_flush is not None:
        force_flush()


def fastapi_telemetry() -> TelemetryConfig:
    """FastAPI's own spans, for requests and websocket connections (they extract a caller's
    `traceparent`); its metrics and logs are Threadline's own (app/metrics.py, structlog)."""
    return {
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": lambda scope: scope.get("path") in QUIET_PATHS,
    }


# Probes and scrapes: no trace (the request log also leaves out the probes that succeed).
QUIET_PATHS = request_log.QUIET_PATHS | {"/metrics"}


def current_context() -> dict[str, str] | None:
    """The current span's context as W3C headers (`traceparent`), to be kept with a run; None
    when nothing is traced."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


@contextlib.contextmanager
def run_execution(run: RunDocument) -> Iterator[None]:
    """A run's execution, as a child of the request that created it. Begun from a fresh
    context: the claim loop that starts it is no part of any trace."""
    if not _started:
        yield
        return
    context = propagate.extract(run.trace_context or {}, context=otel_context.Context())
    attributes: dict[str, str | int] = {
        "threadline.run_id": run.id,
        "threadline.thread_id": run.thread_id,
        "threadline.assistant_id": run.assistant_id,
        "threadline.project_id": run.project_id,
        "threadline.run.fence": run.fence,  # which claim of the run: 2+ after a takeover
        "gen_ai.request.model": run.model,
    }
    with tracer.start_as_current_span(
        "execute run", context=context, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def model_call(model: str) -> contextlib.AbstractContextManager[trace.Span]:
    """A model call (OpenTelemetry's GenAI conventions), around the provider's HTTP request."""
    return tracer.start_as_current_span(
        f"chat {model}",
        kind=SpanKind.CLIENT,
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model},
    )


class GraphQLSpans(SchemaExtension):
    """One span per query or mutation (`mutation StartRun`), current while it executes: its
    database commands, and the runs it creates, are its children. Neither the document nor the
    arguments are recorded: inputs carry end users' text. Strawberry's OpenTelemetryExtension
    adds spans for parsing, validation and every resolver, and wraps every field, which cost
    the server a fifth more CPU per lookup (bench/observability.py). A subscription's span is
    its websocket connection's, FastAPI's."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        kind = context.operation_type.value
        name = context.operation_name
        with tracer.start_as_current_span(
            f"{kind} {name}" if name else kind,
            attributes={"graphql.operation.type": kind, "graphql.operation.name": name or ""},
        ) as span:
            yield
            result = context.result
            if result is not None and result.errors:
                codes = {code_of(error) for error in result.errors}
                span.set_status(StatusCode.ERROR, ", ".join(sorted(codes)))


class WithoutLoneClientSpans(Sampler):
    """The environment's sampler, except that a database command or HTTP call made outside any
    request or run is not traced: the event log's follower, the claim loop and the leases'
    heartbeats poll, and each poll would be a trace of its own."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind == SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"WithoutLoneClientSpans{{{self.inner.get_description()}}}"
