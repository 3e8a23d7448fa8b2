"""Cancelling stops the model mid-stream; runs left waiting expire."""

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tests.graphql import GraphQLClient
from tests.runs import (
    CANCEL,
    STEPS,
    SUBMIT,
    function_tool,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
    wait_until_streaming,
)
from tests.test_subscriptions import RUN_EVENTS
from tests.ws import Live, connect, subscribe

SLOW_TEXT = "/slow 150\n" + " ".join(f"w{i}" for i in range(40))


async def test_cancel_stops_the_stream_mid_message(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), SLOW_TEXT)
    await wait_until_streaming(gql, run["id"])
    await asyncio.sleep(0.3)  # a few tokens in
    cancelling = (await gql(CANCEL, runId=run["id"]))["cancelRun"]
    assert cancelling["status"] == "CANCELLING"
    done = await wait_for(gql, run["id"], timeout=30)
    assert done["status"] == "CANCELLED"
    assert done["cancelledAt"]
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["role"] == "ASSISTANT"
    assert answer["status"] == "INCOMPLETE"
    assert answer["incompleteDetails"] == {"reason": "run_cancelled"}
    assert answer["text"].startswith("You said: w0")
    assert "w39" not in answer["text"]
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [s["status"] for s in steps] == ["CANCELLED"]
    # the model really stopped: the text does not grow any more
    await asyncio.sleep(0.5)
    assert (await thread_messages(gql, run["threadId"]))[-1]["text"] == answer["text"]


async def test_cancel_while_waiting_for_outputs_ends_at_once(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("f")])
    run = await start_run(gql, assistant, "/call f {}")
    await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    cancelled = (await gql(CANCEL, runId=run["id"]))["cancelRun"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["requiredAction"] is None
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [s["status"] for s in steps] == ["CANCELLED"]


async def test_an_ended_run_cannot_be_cancelled(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "hi")
    await wait_for(gql, run["id"])
    error = await gql.error(CANCEL, runId=run["id"])
    assert error["extensions"]["code"] == "CONFLICT"
    assert (await wait_for(gql, run["id"]))["status"] == "COMPLETED"


@pytest.fixture
def short_expiry(app: FastAPI) -> Iterator[None]:
    service = app.state.engine.runs
    kept = service.expires_seconds
    service.expires_seconds = 0.5
    yield
    service.expires_seconds = kept


@pytest.mark.usefixtures("short_expiry")
async def test_a_run_waiting_for_outputs_expires(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("f")])
    run = await start_run(gql, assistant, "/call f {}")
    waiting = await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    call = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"][0]["id"]
    expired = await wait_for(gql, run["id"], {"EXPIRED"}, timeout=5)
    assert expired["requiredAction"] is None
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [s["status"] for s in steps] == ["EXPIRED"]
    error = await gql.error(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call, "output": "x"}])
    assert error["extensions"]["code"] == "CONFLICT"
    assert len(await thread_messages(gql, run["threadId"])) == 1


@pytest.mark.parametrize("tokens_in", [0, 1, 2, 3, 5, 8])
async def test_what_was_streamed_is_what_is_stored_when_cancelled(
    gql: GraphQLClient, live: Live, tokens_in: int
) -> None:
    """Cancelled after a few deltas: the stored message is exactly the text a subscriber
    accumulated, never a word more (a write refused midway leaves nothing behind)."""
    run = await start_run(
        gql, await new_assistant(gql), "/slow 30\n" + " ".join(f"w{i}" for i in range(60))
    )
    async with connect(live.ws_url, payload=live.payload) as socket:
        told = ""
        async for data in subscribe(socket, RUN_EVENTS, runId=run["id"]):
            event = data["runEvents"]
            if event["event"] == "thread.message.delta":
                told += event["textDelta"]
                tokens_in -= 1
                if tokens_in == 0:
                    await gql(CANCEL, runId=run["id"])
            elif event["event"] == "thread.run.in_progress" and tokens_in == 0:
                await gql(CANCEL, runId=run["id"])
    done = await wait_for(gql, run["id"], timeout=30)
    assert done["status"] == "CANCELLED"
    answers = [m for m in await thread_messages(gql, run["threadId"]) if m["role"] == "ASSISTANT"]
    assert [m["text"] for m in answers] == ([told] if told or answers else [])
    assert all(m["status"] == "INCOMPLETE" for m in answers)
