"""A small, real OTLP/HTTP trace receiver for tests: `POST /v1/traces` with the protobuf
`ExportTraceServiceRequest` (gzip or not), as the OpenTelemetry SDK's exporter sends it.

    async with OtlpReceiver() as receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
        spans = await receiver.trace(trace_id, until=lambda spans: ...)
"""

import asyncio
import gzip
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import InProcessServer

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str  # hex, as logs and `traceparent` write them
    span_id: str
    parent_id: str  # "" for a root
    kind: str  # SPAN_KIND_SERVER, …
    attributes: dict[str, Any]
    resource: dict[str, Any]  # the exporting process's (service.name, threadline.role…)
    status: str  # STATUS_CODE_UNSET, STATUS_CODE_ERROR…
    status_message: str


def _value(value: AnyValue) -> Any:
    """A string, bool, int or float as is; arrays and the rest as their text."""
    which = value.WhichOneof("value")
    if which in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, which)
    return str(value) if which else None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


class OtlpReceiver(InProcessServer):
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.changed = asyncio.Event()
        super().__init__(Starlette(routes=[Route("/v1/traces", self._receive, methods=["POST"])]))

    @property
    def endpoint(self) -> str:
        """For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds `/v1/traces`)."""
        return self.base_url

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        Span(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            kind=SpanMessage.SpanKind.Name(span.kind),
                            attributes=_attributes(span.attributes),
                            resource=resource,
                            status=Status.StatusCode.Name(span.status.code),
                            status_message=span.status.message,
                        )
                    )
        self.changed.set()
        answer = ExportTraceServiceResponse().SerializeToString()
        return Response(answer, media_type=PROTOBUF)

    async def trace(
        self, trace_id: str, until: Callable[[list[Span]], bool], timeout: float = 30
    ) -> list[Span]:
        """The spans received of one trace, once `until` holds for them."""
        async with asyncio.timeout(timeout):
            while True:
                spans = [span for span in self.spans if span.trace_id == trace_id]
                if until(spans):
                    return spans
                self.changed.clear()
                await self.changed.wait()
