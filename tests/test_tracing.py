"""OpenTelemetry traces, received over OTLP/HTTP by a real receiver from a real server and a
real worker process: a run's span tree, from the client's request to the model's endpoint."""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import tracing
from tests.graphql import GraphQLClient
from tests.openai_server import OpenAICompatibleServer, Script
from tests.otlp_receiver import OtlpReceiver, Span
from tests.processes import http_url, server, worker
from tests.runs import new_assistant, wait_for

pytestmark = pytest.mark.slow
MODEL = "gpt-traced"
SECRET = "a user's words that no span may carry 7f3a"
START_RUN = """mutation StartTracedRun($input: CreateThreadAndRunInput!) {
  createThreadAndRun(input: $input) { id threadId } }"""


FAILED_SPANS = {"POST /graphql", "mutation Missing"}


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [span for span in spans if span.parent_id == parent.span_id]


def only(spans: list[Span], name: str) -> Span:
    named = [span for span in spans if span.name == name]
    assert len(named) == 1, (name, [span.name for span in spans])
    return named[0]


def descendants(spans: list[Span], ancestor: Span) -> Iterator[Span]:
    for child in children(spans, ancestor):
        yield child
        yield from descendants(spans, child)


def is_mongodb(span: Span) -> bool:
    return "mongodb" in (span.attributes.get("db.system"), span.attributes.get("db.system.name"))


def run_is_traced(spans: list[Span]) -> bool:
    names = {span.name for span in spans}
    return {"execute run", f"chat {MODEL}"} <= names and any(
        span.kind == "SPAN_KIND_SERVER" and span.resource.get("threadline.role") == "server"
        for span in spans
    )


async def test_a_runs_trace_goes_from_the_request_to_the_model_call(
    mongodb_uri: str,
    model_server: OpenAICompatibleServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_server.script = Script(text="Traced answer")
    async with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # ms: exported soon after ending
        database = "threadline_tracing"
        endpoint = model_server.base_url
        with (
            server(mongodb_uri, database, tmp_path, openai_base_url=endpoint) as live,
            worker(mongodb_uri, database, tmp_path, "traced", workers=1, openai_base_url=endpoint),
        ):
            headers = {"Authorization": live.payload["authorization"]}
            async with httpx.AsyncClient(base_url=http_url(live), headers=headers) as http:
                assert (await http.get("/healthz")).status_code == 200  # probes are not traced
                gql = GraphQLClient(http)
                assistant = await new_assistant(gql, model=MODEL)
                # The client's own trace: Threadline's spans continue it.
                trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
                answer = await http.post(
                    "/graphql",
                    json={
                        "query": START_RUN,
                        "variables": {
                            "input": {
                                "assistantId": assistant,
                                "thread": {"messages": [{"content": SECRET}]},
                            }
                        },
                    },
                    headers={"traceparent": f"00-{trace_id}-{client_span}-01"},
                )
                run = answer.json()["data"]["createThreadAndRun"]
                # An operation that fails is marked so, with its errors' codes.
                failed_trace = secrets.token_hex(16)
                missing = await http.post(
                    "/graphql",
                    json={"query": 'mutation Missing { deleteAssistant(id: "asst_gone") { id } }'},
                    headers={"traceparent": f"00-{failed_trace}-{secrets.token_hex(8)}-01"},
                )
                assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
                assert (await wait_for(gql, run["id"], timeout=60))["status"] == "COMPLETED"
                spans = await receiver.trace(trace_id, until=run_is_traced)
                failing = await receiver.trace(
                    failed_trace, until=lambda spans: {s.name for s in spans} >= FAILED_SPANS
                )
        worker_log = (tmp_path / "traced.log").read_text()

    # The request, as the server received it, under the client's span…
    request = only([s for s in spans if s.parent_id == client_span], "POST /graphql")
    assert request.kind == "SPAN_KIND_SERVER"
    assert request.resource["service.name"] == "threadline"
    # …its GraphQL operation, with the database commands it made.
    operation = only(children(spans, request), "mutation StartTracedRun")
    assert operation.attributes["graphql.operation.name"] == "StartTracedRun"
    assert operation.status == "STATUS_CODE_UNSET"
    assert any(is_mongodb(span) for span in descendants(spans, operation))

    # The run's execution, in the worker process, is a child of that operation.
    execution = only(spans, "execute run")
    assert execution.parent_id == operation.span_id
    assert execution.kind == "SPAN_KIND_CONSUMER"
    assert execution.resource["threadline.role"] == "worker"
    assert execution.attributes["threadline.run_id"] == run["id"]
    assert execution.attributes["threadline.thread_id"] == run["threadId"]
    assert any(is_mongodb(span) for span in children(spans, execution))
    # The model call, and beneath it httpx's span of the HTTP request to the endpoint.
    call = only(children(spans, execution), f"chat {MODEL}")
    assert call.attributes["gen_ai.request.model"] == MODEL
    (http_request,) = children(spans, call)
    assert http_request.kind == "SPAN_KIND_CLIENT"
    assert model_server.base_url.split("//")[1] in json.dumps(http_request.attributes)

    missing_span = only(failing, "mutation Missing")
    assert (missing_span.status, missing_span.status_message) == ("STATUS_CODE_ERROR", "NOT_FOUND")

    # No end user's text in any span (documents' variables and inputs are not recorded).
    everything = receiver.spans
    assert SECRET not in json.dumps([span.attributes for span in everything])
    # Polls outside any request or run (the claim loop, heartbeats, the event log's
    # follower) make no traces of their own; health probes make none either.
    assert not [s.name for s in everything if s.kind == "SPAN_KIND_CLIENT" and not s.parent_id]
    assert "/healthz" not in json.dumps([span.attributes for span in everything])

    # The worker's log lines about the run name the trace.
    transitions = [
        line
        for line in map(json.loads, filter(None, worker_log.splitlines()))
        if line.get("event") == "run_transition" and line.get("run_id") == run["id"]
    ]
    assert transitions
    assert all(line["trace_id"] == trace_id for line in transitions)


def test_tracing_is_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not tracing.wanted()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    assert tracing.wanted()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.wanted()
