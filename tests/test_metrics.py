"""/metrics before and after real work, read with prometheus-client's own text parser: each
count moves by what was done, and no more."""

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.apps import changed_app
from tests.conftest import client
from tests.graphql import GraphQLClient, ProjectClient, bearer
from tests.processes import http_url, server
from tests.runs import CREATE_THREAD, new_assistant, wait_for
from tests.test_code_interpreter import CODE, run_code
from tests.vector_stores import new_store, wait_for_store
from tests.ws import Live, connect, subscribe

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
NAMED_RUN = """mutation MetricsRun($threadId: ID!, $input: CreateRunInput!) {
  createRun(threadId: $threadId, input: $input) { id } }"""
SCRIPTED = "threadline/scripted"


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = defaultdict(float)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] += sample.value
    return samples


def delta(before: Samples, after: Samples, metric: str, **labels: str) -> float:
    key = (metric, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_a_run_moves_the_counts_by_one(app: FastAPI, gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql)
    thread = (await gql(CREATE_THREAD, input={"messages": [{"content": "hi"}]}))["createThread"]
    before = await scrape(gql.http)
    run = await gql(NAMED_RUN, threadId=thread["id"], input={"assistantId": assistant})
    ended = await wait_for(gql, run["createRun"]["id"])
    assert ended["status"] == "COMPLETED"
    await gql.execute("{ assistant(id: 1) { nope } }")  # a validation error
    rest = await gql.http.get(
        f"/v1/assistants/{assistant}", headers={"OpenAI-Beta": "assistants=v2"}
    )
    assert rest.status_code == 200
    after = await scrape(gql.http)

    assert delta(before, after, "threadline_runs_created_total") == 1
    assert delta(before, after, "threadline_runs_ended_total", status="completed") == 1
    assert delta(before, after, "threadline_run_duration_seconds_count") == 1
    assert delta(before, after, "threadline_run_queue_wait_seconds_count") == 1
    assert delta(before, after, "threadline_run_takeovers_total") == 0
    assert delta(before, after, "threadline_runs_executing") == 0
    assert delta(before, after, "threadline_model_calls_total", model=SCRIPTED, outcome="ok") == 1
    for kind in ("prompt", "completion"):
        assert delta(before, after, "threadline_model_tokens_total", model=SCRIPTED, kind=kind) > 0
    assert (
        delta(
            before, after, "threadline_graphql_operations_total", type="mutation", name="MetricsRun"
        )
        == 1
    )
    assert delta(before, after, "threadline_graphql_errors_total", code="BAD_USER_INPUT") == 1
    # Counted by the route as written, not by the id asked for.
    route = "/v1/assistants/{assistant_id}"
    assert (
        delta(
            before, after, "threadline_http_requests_total", method="GET", route=route, status="200"
        )
        == 1
    )
    # The run was polled until it ended: each poll is a request counted by its route.
    polls = delta(
        before,
        after,
        "threadline_http_requests_total",
        method="POST",
        route="/graphql",
        status="200",
    )
    assert polls >= 3
    assert (
        delta(
            before,
            after,
            "threadline_http_request_duration_seconds_count",
            method="POST",
            route="/graphql",
        )
        == polls
    )


async def test_code_interpreter_calls_and_file_ingestions_are_counted(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    notes = await gql.upload("notes.txt", b"Sourdough needs a starter and a long proof.")
    binary = await gql.upload("tool.exe", b"MZ\x90\x00" + bytes(range(256)))
    before = await scrape(gql.http)
    await run_code(gql, assistant, "print(6 * 7)")
    await run_code(gql, assistant, "raise ValueError('not this time')")
    store = await new_store(gql, fileIds=[notes["id"], binary["id"]])
    assert (await wait_for_store(gql, store["id"]))["fileCounts"]["completed"] == 1
    after = await scrape(gql.http)

    assert delta(before, after, "threadline_sandbox_calls_total", outcome="ok") == 1
    assert delta(before, after, "threadline_sandbox_calls_total", outcome="error") == 1
    assert delta(before, after, "threadline_sandbox_call_seconds_count") == 2
    assert delta(before, after, "threadline_file_ingestions_total", outcome="completed") == 1
    assert delta(before, after, "threadline_file_ingestions_total", outcome="unsupported_file") == 1
    assert delta(before, after, "threadline_file_ingestion_seconds_count") == 2


async def test_websockets_and_subscriptions_are_counted_while_open(
    gql: GraphQLClient, live: Live
) -> None:
    assistant = await new_assistant(gql)
    thread = (await gql(CREATE_THREAD, input={"messages": [{"content": "hi"}]}))["createThread"]
    before = await scrape(gql.http)
    async with connect(live.ws_url, payload=live.payload) as socket:
        events = subscribe(
            socket,
            "subscription($id: ID!) { threadEvents(threadId: $id) { event } }",
            id=thread["id"],
        )
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.3)  # subscribed
        during = await scrape(gql.http)
        await gql(NAMED_RUN, threadId=thread["id"], input={"assistantId": assistant})
        seen = [(await first)["threadEvents"]["event"]]
        while seen[-1] != "thread.run.completed":
            seen.append((await asyncio.wait_for(anext(events), 20))["threadEvents"]["event"])
        await events.aclose()
    assert delta(before, during, "threadline_websockets_open") == 1
    assert delta(before, during, "threadline_subscriptions_active") == 1
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # the server notices the close a moment later
        after = await scrape(gql.http)
        if delta(before, after, "threadline_websockets_open") == 0:
            break
        assert asyncio.get_running_loop().time() < deadline, "the websocket stayed counted"
        await asyncio.sleep(0.05)
    assert delta(before, after, "threadline_subscriptions_active") == 0
    assert delta(before, after, "threadline_events_sent_total") == len(seen)


async def test_metrics_need_the_admin_key_in_production(
    app: FastAPI, admin_key: str, other: ProjectClient
) -> None:
    production = changed_app(app, env="production")
    answers: dict[str, Any] = {}
    for who, headers in (
        ("nobody", {}),
        ("project", bearer(other.key)),
        ("admin", bearer(admin_key)),
    ):
        async with client(production, headers) as http:
            answers[who] = (await http.get("/metrics")).status_code
    assert answers == {"nobody": 401, "project": 403, "admin": 200}


def test_several_server_processes_add_their_counts_up(mongodb_uri: str, tmp_path: Path) -> None:
    """`threadline run` with two processes: whichever answers /metrics counts every request,
    whichever process served it (prometheus-client's multiprocess mode)."""
    requests = 40
    with server(mongodb_uri, "threadline_metrics_processes", tmp_path, processes=2) as live:
        base = http_url(live)
        for _ in range(requests):
            # A connection each: the kernel hands them to either process.
            assert httpx.get(f"{base}/healthz").status_code == 200
        for _ in range(5):
            with httpx.Client() as fresh:
                text = fresh.get(f"{base}/metrics").text
            served = [
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "threadline_http_requests_total"
                and sample.labels.get("route") == "/healthz"
            ]
            assert served == [requests]
    files = list((tmp_path / "metrics").glob("*.db"))
    pids = {file.stem.rsplit("_", 1)[-1] for file in files}
    assert len(pids) >= 2, files  # both processes kept samples there
