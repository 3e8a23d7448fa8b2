"""runEvents / threadEvents over real websockets, against the live event log."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.graphql import GraphQLClient, ProjectClient
from tests.openai_server import Script, Scripted
from tests.runs import (
    CREATE_RUN,
    CREATE_THREAD,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
)
from tests.ws import LEGACY_WS, TRANSPORT_WS, Live, SubscriptionError, connect, subscribe

EVENT_FIELDS = """
  sequence event runId threadId createdAt
  ... on RunStatusEvent { run { id status } }
  ... on RunStepEvent { step { id status type } }
  ... on MessageEvent { message { id status text } }
  ... on MessageDeltaEvent { messageId textDelta delta }
  ... on RunStepDeltaEvent { stepId delta }
  ... on ThreadEvent { thread { id metadata } }
  ... on ErrorEvent { code errorMessage: message }
"""
RUN_EVENTS = f"""subscription($runId: ID!, $after: Int) {{
  runEvents(runId: $runId, afterSequence: $after) {{ {EVENT_FIELDS} }} }}"""
THREAD_EVENTS = f"""subscription($threadId: ID!, $after: Int) {{
  threadEvents(threadId: $threadId, afterSequence: $after) {{ {EVENT_FIELDS} }} }}"""
ANSWER_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
ANSWER_END = ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]


async def collect_run(
    live: Live, run_id: str, after: int | None = None, protocol: str = TRANSPORT_WS
) -> list[dict[str, Any]]:
    async with connect(live.ws_url, protocol, live.payload) as socket:
        return [
            data["runEvents"]
            async for data in subscribe(socket, RUN_EVENTS, runId=run_id, after=after)
        ]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_runs_whole_stream_live(gql: GraphQLClient, live: Live, protocol: str) -> None:
    assistant = await new_assistant(gql)
    text = "/slow 20\nthe quick brown fox jumps"
    thread_id = (await gql(CREATE_THREAD, input={"messages": [{"content": text}]}))["createThread"][
        "id"
    ]
    async with connect(live.ws_url, protocol, live.payload) as socket:
        events: list[dict[str, Any]] = []
        stream = subscribe(socket, THREAD_EVENTS, threadId=thread_id, after=0)

        async def read() -> None:
            async for data in stream:
                events.append(data["threadEvents"])
                if data["threadEvents"]["event"] == "thread.run.completed":
                    return

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.2)  # subscribed before the run exists: everything arrives live
        run = (await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant}))[
            "createRun"
        ]
        await asyncio.wait_for(reader, 10)
        await stream.aclose()
    names = [e["event"] for e in events]
    deltas = [e for e in events if e["event"] == "thread.message.delta"]
    assert names == ANSWER_EVENTS + ["thread.message.delta"] * len(deltas) + ANSWER_END
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert {e["runId"] for e in events} == {run["id"]}
    streamed = "".join(e["textDelta"] for e in deltas)
    final = (await thread_messages(gql, thread_id))[-1]
    assert streamed == final["text"] == "You said: the quick brown fox jumps"
    assert events[-3]["message"]["text"] == final["text"]
    assert events[-1]["run"]["status"] == "COMPLETED"
    assert all(e["delta"]["content"][0]["text"]["value"] == e["textDelta"] for e in deltas)


async def test_replay_after_every_sequence(gql: GraphQLClient, live: Live) -> None:
    run = await start_run(gql, await new_assistant(gql), "one two three")
    await wait_for(gql, run["id"])
    whole = await collect_run(live, run["id"])  # subscribed after the end: history, then complete
    last = whole[-1]["sequence"]
    assert [e["sequence"] for e in whole] == list(range(1, last + 1))
    assert whole[-1]["event"] == "thread.run.completed"
    for after in range(last + 1):
        replayed = await collect_run(live, run["id"], after)
        assert replayed == whole[after:], after


async def test_create_thread_and_run_begins_with_thread_created(
    gql: GraphQLClient, live: Live
) -> None:
    assistant = await new_assistant(gql)
    run = await start_run(gql, assistant, "hello", metadata={"k": "v"})
    await wait_for(gql, run["id"])
    events = await collect_run(live, run["id"])
    assert [e["event"] for e in events[:4]] == [
        "thread.created",
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert events[0]["sequence"] == 1
    assert events[0]["runId"] == run["id"]
    assert events[0]["thread"]["id"] == events[0]["threadId"] == run["threadId"]
    async with connect(live.ws_url, payload=live.payload) as socket:
        stream = subscribe(socket, THREAD_EVENTS, threadId=run["threadId"], after=0)
        first = (await anext(stream))["threadEvents"]
        await stream.aclose()
    assert first == events[0]
    # A run on a thread that already exists makes no thread.
    second = (await gql(CREATE_RUN, threadId=run["threadId"], input={"assistantId": assistant}))[
        "createRun"
    ]
    await wait_for(gql, second["id"])
    assert (await collect_run(live, second["id"]))[0]["event"] == "thread.run.created"


async def test_an_internal_failure_is_an_error_event(
    gql: GraphQLClient, live: Live, endpoint: Scripted
) -> None:
    # A lone UTF-16 surrogate is valid JSON text but cannot be stored (BSON strings are
    # UTF-8): writing the model's first words fails inside Threadline, not at the endpoint.
    surrogate = '{"choices": [{"delta": {"content": "\\ud800"}}]}'
    endpoint(Script(text="never stored", inject=surrogate))
    run = await start_run(gql, await new_assistant(gql, model="gpt-test"), "hi")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "FAILED"
    assert done["lastError"] == {
        "code": "SERVER_ERROR",
        "message": "The run failed on an internal error.",
    }
    events = await collect_run(live, run["id"])
    assert [e["event"] for e in events[-2:]] == ["error", "thread.run.failed"]
    assert events[-2]["code"] == "server_error"
    assert events[-2]["errorMessage"] == "The run failed on an internal error."


async def test_tool_call_arguments_stream_as_step_deltas(gql: GraphQLClient, live: Live) -> None:
    assistant = await new_assistant(gql, tools=[{"type": "FUNCTION", "function": {"name": "f"}}])
    run = await start_run(gql, assistant, '/call f {"answer": 42}')
    await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    async with connect(live.ws_url, payload=live.payload) as socket:
        events = []
        async for data in subscribe(socket, RUN_EVENTS, runId=run["id"]):
            events.append(data["runEvents"])
            if data["runEvents"]["event"] == "thread.run.requires_action":
                break
    deltas = [e for e in events if e["event"] == "thread.run.step.delta"]
    pieces = [d["delta"]["step_details"]["tool_calls"][0] for d in deltas]
    assert "".join(p["function"]["arguments"] for p in pieces) == '{"answer": 42}'
    assert pieces[0]["function"]["name"] == "f"
    assert events[-1]["run"]["status"] == "REQUIRES_ACTION"


async def test_sequences_continue_across_runs_of_a_thread(gql: GraphQLClient, live: Live) -> None:
    assistant = await new_assistant(gql)
    first = await start_run(gql, assistant, "first")
    await wait_for(gql, first["id"])
    second = (await gql(CREATE_RUN, threadId=first["threadId"], input={"assistantId": assistant}))[
        "createRun"
    ]
    await wait_for(gql, second["id"])
    one, two = await collect_run(live, first["id"]), await collect_run(live, second["id"])
    assert two[0]["sequence"] == one[-1]["sequence"] + 1
    assert {e["runId"] for e in two} == {second["id"]}


async def test_unknown_ids_and_bad_sequences_are_errors(gql: GraphQLClient, live: Live) -> None:
    async with connect(live.ws_url, payload=live.payload) as socket:
        with pytest.raises(SubscriptionError) as unknown:
            async for _ in subscribe(socket, RUN_EVENTS, runId="run_nope"):
                pass
        assert unknown.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
        with pytest.raises(SubscriptionError) as negative:
            async for _ in subscribe(socket, THREAD_EVENTS, threadId="thread_x", after=-1):
                pass
        assert negative.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def read_all(stream: AsyncIterator[dict[str, Any]]) -> None:
    async for _ in stream:
        pass


async def test_revoking_a_key_closes_its_streaming_subscription(
    live: Live, other: ProjectClient, admin: GraphQLClient
) -> None:
    assistant = await new_assistant(other)
    slow = "/slow 100\n" + " ".join(f"w{i}" for i in range(40))
    thread = await other(CREATE_THREAD, input={"messages": [{"content": slow}]})
    thread_id = thread["createThread"]["id"]
    payload = {"authorization": f"Bearer {other.key}"}
    async with connect(live.ws_url, payload=payload) as socket:
        stream = subscribe(socket, THREAD_EVENTS, threadId=thread_id, after=0)
        await other(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant})
        first = await anext(stream)
        assert first["threadEvents"]["sequence"] == 1
        await admin("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", id=other.key_id)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(read_all(stream), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
