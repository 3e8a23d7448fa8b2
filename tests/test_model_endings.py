"""How the model's answer ends, as the endpoint says it (`finish_reason`), reaches the message,
the steps and the run; against the real OpenAI-compatible test endpoint."""

from typing import Any

from tests.graphql import GraphQLClient
from tests.openai_server import Script, Scripted, ToolCall
from tests.runs import STEPS, function_tool, new_assistant, start_run, thread_messages, wait_for
from tests.ws import Live, connect, subscribe

MODEL = "gpt-test"
RUN_EVENTS = """subscription($runId: ID!) { runEvents(runId: $runId) {
  event
  ... on RunStatusEvent { run { status incompleteDetails { reason } } }
  ... on RunStepEvent { step { type status } }
  ... on MessageEvent { message { status text incompleteDetails { reason } } }
} }"""


async def run_events(live: Live, run_id: str) -> list[dict[str, Any]]:
    async with connect(live.ws_url, payload=live.payload) as socket:
        return [data["runEvents"] async for data in subscribe(socket, RUN_EVENTS, runId=run_id)]


async def test_length_ends_the_message_and_the_run_incomplete(
    gql: GraphQLClient, endpoint: Scripted, live: Live
) -> None:
    endpoint(Script(text="An answer the endpoint cut", finish_reason="length"))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "hi")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] == {"reason": "max_completion_tokens"}
    assert done["usage"] == {"promptTokens": 12, "completionTokens": 5, "totalTokens": 17}
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["status"] == "INCOMPLETE"
    assert answer["incompleteDetails"] == {"reason": "max_tokens"}
    assert answer["text"] == "An answer the endpoint cut"
    events = await run_events(live, run["id"])
    assert [e["event"] for e in events[-3:]] == [
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]
    assert events[-3]["message"]["incompleteDetails"] == {"reason": "max_tokens"}
    assert events[-1]["run"]["incompleteDetails"] == {"reason": "max_completion_tokens"}


async def test_content_filter_ends_the_message_and_the_run_incomplete(
    gql: GraphQLClient, endpoint: Scripted, live: Live
) -> None:
    endpoint(Script(text="Part of it", finish_reason="content_filter"))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "hi")
    done = await wait_for(gql, run["id"])
    # OpenAI's run reasons name token limits only: the message tells why.
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] is None
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["status"] == "INCOMPLETE"
    assert answer["incompleteDetails"] == {"reason": "content_filter"}
    assert answer["text"] == "Part of it"
    events = await run_events(live, run["id"])
    assert [e["event"] for e in events[-3:]] == [
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
    ]


async def test_tool_calls_cut_by_length_are_not_asked_for(
    gql: GraphQLClient, endpoint: Scripted, live: Live
) -> None:
    call = ToolCall("lookup", '{"q": "half an argu')
    endpoint(Script(tool_calls=[call], finish_reason="length"))
    assistant = await new_assistant(gql, model=MODEL, tools=[function_tool("lookup")])
    run = await start_run(gql, assistant, "look it up")
    done = await wait_for(gql, run["id"], {"INCOMPLETE", "REQUIRES_ACTION", "COMPLETED"})
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] == {"reason": "max_completion_tokens"}
    assert done["requiredAction"] is None
    [step] = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert (step["type"], step["status"]) == ("TOOL_CALLS", "FAILED")
    assert step["stepDetails"]["toolCalls"][0]["function"]["arguments"] == call.arguments
    events = await run_events(live, run["id"])
    assert [e["event"] for e in events[-2:]] == ["thread.run.step.failed", "thread.run.incomplete"]


async def test_stop_completes(gql: GraphQLClient, endpoint: Scripted) -> None:
    endpoint(Script(text="All of it", finish_reason="stop"))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "hi")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    assert done["incompleteDetails"] is None
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert (answer["status"], answer["text"]) == ("COMPLETED", "All of it")


MESSAGE_DELTAS = """subscription($runId: ID!) { runEvents(runId: $runId) {
  event
  ... on MessageDeltaEvent { messageId textDelta delta }
  ... on MessageEvent { message { id status content {
    __typename ... on TextContent { text { value } } ... on RefusalContent { refusal } } } }
} }"""


async def accumulated(live: Live, run_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The parts a client builds from the message deltas (OpenAI's accumulation: each
    piece appended to the part at its index), and the message's last event."""
    async with connect(live.ws_url, payload=live.payload) as socket:
        events = [
            data["runEvents"] async for data in subscribe(socket, MESSAGE_DELTAS, runId=run_id)
        ]
    parts: dict[int, dict[str, Any]] = {}
    for delta in [e for e in events if e["event"] == "thread.message.delta"]:
        for piece in delta["delta"]["content"]:
            part = parts.setdefault(piece["index"], {"type": piece["type"], "value": ""})
            assert part["type"] == piece["type"]
            part["value"] += piece["text"]["value"] if piece["type"] == "text" else piece["refusal"]
    [last] = [e for e in events if e["event"] == "thread.message.completed"]
    return [parts[index] for index in sorted(parts)], last["message"]


def stored_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "text", "value": part["text"]["value"]}
        if part["__typename"] == "TextContent"
        else {"type": "refusal", "value": part["refusal"]}
        for part in message["content"]
    ]


async def test_a_refusal_is_a_refusal_part_streamed_as_deltas(
    gql: GraphQLClient, endpoint: Scripted, live: Live
) -> None:
    endpoint(Script(refusal="I can't help with that request."))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "something bad")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    parts, message = await accumulated(live, run["id"])
    assert parts == [{"type": "refusal", "value": "I can't help with that request."}]
    assert stored_parts(message) == parts
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert (answer["status"], answer["text"]) == ("COMPLETED", "")
    stored = await gql(
        "query($id: ID!) { message(id: $id) { content { ... on RefusalContent { refusal } } } }",
        id=answer["id"],
    )
    assert stored["message"]["content"] == [{"refusal": "I can't help with that request."}]


async def test_text_then_a_refusal_are_two_parts(
    gql: GraphQLClient, endpoint: Scripted, live: Live
) -> None:
    endpoint(Script(text="Let me see. ", refusal="No, I won't do that."))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "something bad")
    await wait_for(gql, run["id"])
    parts, message = await accumulated(live, run["id"])
    assert parts == [
        {"type": "text", "value": "Let me see. "},
        {"type": "refusal", "value": "No, I won't do that."},
    ]
    assert stored_parts(message) == parts
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["text"] == "Let me see. "
