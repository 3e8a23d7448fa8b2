"""One execution of an event serves every subscriber that would get the same answer, and only
those: subscribers with another view of the project, or other variables below the
subscription field, get their own."""

import asyncio
import json
from typing import Any

from graphql import ExecutionResult

from app.live import LiveOperation, answer_text
from tests.graphql import GraphQLClient
from tests.runs import CREATE_RUN, CREATE_THREAD, new_assistant
from tests.tokens import mint
from tests.ws import Live, connect, subscribe

EVENTS = """subscription($id: ID!, $after: Int, $withRun: Boolean!) {
  threadEvents(threadId: $id, afterSequence: $after) {
    sequence event
    ... on RunStatusEvent { run @include(if: $withRun) { id assistant { id } } }
  }
}"""


async def statuses(
    live: Live, payload: dict[str, Any], ready: asyncio.Event, **variables: Any
) -> list[dict[str, Any]]:
    """The run status events one subscriber gets, until the run completes."""
    seen = []
    async with connect(live.ws_url, payload=payload) as socket:
        stream = subscribe(socket, EVENTS, **variables)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        ready.set()
        data = await first
        while True:
            event = data["threadEvents"]
            if event["event"].startswith("thread.run.") and "step" not in event["event"]:
                seen.append(event)
            if event["event"] == "thread.run.completed":
                await stream.aclose()
                return seen
            data = await anext(stream)


async def test_subscribers_share_only_what_they_would_each_get(
    gql: GraphQLClient, live: Live
) -> None:
    assistant = await new_assistant(gql)
    seed = {"messages": [{"content": "hello"}], "owner": "alice"}
    thread_id = (await gql(CREATE_THREAD, input=seed))["createThread"]["id"]
    alice = {"authorization": f"Bearer {await mint(gql, 'alice', [])}"}
    # Every subscriber gets the thread's events from the start (the run is made below), so
    # each event reaches all of them at once, in one fan-out.
    subscribers: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (live.payload, {"after": 0, "withRun": True}),
        (live.payload, {"after": 0, "withRun": True}),
        (live.payload, {"after": None, "withRun": True}),  # differs only where it starts
        (live.payload, {"after": 0, "withRun": False}),  # not the same answer
        (alice, {"after": 0, "withRun": True}),  # not granted the assistant: sees no id
    ]
    readies = [asyncio.Event() for _ in subscribers]
    readers = [
        asyncio.create_task(statuses(live, payload, ready, id=thread_id, **variables))
        for (payload, variables), ready in zip(subscribers, readies, strict=True)
    ]
    for ready in readies:
        await ready.wait()
    await asyncio.sleep(0.3)  # all subscribed and listening before the run's first event
    run = (await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant}))["createRun"]
    seen = await asyncio.wait_for(asyncio.gather(*readers), 20)

    with_run = [{"id": run["id"], "assistant": {"id": assistant}}]
    for events in seen[:3]:
        assert [event["run"] for event in events] == with_run * len(events)
    assert all("run" not in event for event in seen[3])
    assert [event["run"] for event in seen[4]] == [{"id": run["id"], "assistant": None}] * len(
        seen[4]
    )
    names = [[event["event"] for event in events] for events in seen]
    assert names[0][-1] == "thread.run.completed"
    assert all(each == names[0] for each in names)


def test_a_live_result_is_the_protocol_s_message_around_the_shared_answer() -> None:
    """An answer's data is made into text once, however many operations send it; the envelope
    and the extensions are each operation's own."""

    async def nowhere(_text: str) -> None:
        raise AssertionError("not sent here")

    answer = ExecutionResult(data={"threadEvents": {"sequence": 3, "event": "thread.run.queued"}})
    text = answer_text(answer)
    assert answer_text(answer) is text
    assert answer_text(ExecutionResult(data=dict(answer.data or {}))) == text  # another answer
    plain = LiveOperation(nowhere, "next", "1")
    costed = LiveOperation(nowhere, "data", 'b"2', extensions={"cost": {"requested": 4}})
    assert json.loads(plain.message(text)) == {
        "type": "next",
        "id": "1",
        "payload": {"data": answer.data},
    }
    assert json.loads(costed.message(text)) == {
        "type": "data",
        "id": 'b"2',
        "payload": {"data": answer.data, "extensions": {"cost": {"requested": 4}}},
    }
