"""Function tools end to end: tool calls → REQUIRES_ACTION → outputs → the answer."""

from typing import Any

import pytest

from tests.graphql import GraphQLClient
from tests.runs import (
    STEPS,
    SUBMIT,
    function_tool,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
)

WAITING = {"REQUIRES_ACTION"}


def pending(run: dict[str, Any]) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = run["requiredAction"]["submitToolOutputs"]["toolCalls"]
    return calls


async def weather_assistant(gql: GraphQLClient) -> str:
    return await new_assistant(gql, tools=[function_tool("get_weather"), function_tool("get_time")])


async def test_single_call_then_answer(gql: GraphQLClient) -> None:
    run = await start_run(gql, await weather_assistant(gql), '/call get_weather {"city": "Paris"}')
    waiting = await wait_for(gql, run["id"], WAITING)
    [call] = pending(waiting)
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert call["id"].startswith("call_")
    assert waiting["requiredAction"]["type"] == "submit_tool_outputs"
    queued = await gql(
        SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "18C"}]
    )
    assert queued["submitToolOutputs"]["status"] == "QUEUED"
    assert queued["submitToolOutputs"]["requiredAction"] is None
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["text"] == "Tool results: get_weather returned 18C."
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [(s["type"], s["status"]) for s in steps] == [
        ("TOOL_CALLS", "COMPLETED"),
        ("MESSAGE_CREATION", "COMPLETED"),
    ]
    assert steps[0]["stepDetails"]["toolCalls"][0]["function"]["output"] == "18C"


async def test_parallel_calls_come_in_one_step(gql: GraphQLClient) -> None:
    text = '/call get_weather {"city": "Oslo"}\n/call get_time {"zone": "CET"}'
    run = await start_run(gql, await weather_assistant(gql), text)
    calls = pending(await wait_for(gql, run["id"], WAITING))
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    outputs = [{"toolCallId": c["id"], "output": f"out-{i}"} for i, c in enumerate(calls)]
    await gql(SUBMIT, runId=run["id"], outputs=outputs)
    await wait_for(gql, run["id"])
    answer = (await thread_messages(gql, run["threadId"]))[-1]["text"]
    assert answer == "Tool results: get_weather returned out-0; get_time returned out-1."


async def test_sequential_calls_come_one_per_turn(gql: GraphQLClient) -> None:
    text = '/call get_weather {"city": "Oslo"}\n/call get_time {}'
    run = await start_run(gql, await weather_assistant(gql), text, parallelToolCalls=False)
    for name, output in (("get_weather", "rain"), ("get_time", "noon")):
        [call] = pending(await wait_for(gql, run["id"], WAITING))
        assert call["function"]["name"] == name
        await gql(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": output}])
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    answer = (await thread_messages(gql, run["threadId"]))[-1]["text"]
    assert answer == "Tool results: get_weather returned rain; get_time returned noon."
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [s["type"] for s in steps] == ["TOOL_CALLS", "TOOL_CALLS", "MESSAGE_CREATION"]


@pytest.mark.parametrize(
    ("outputs", "words"),
    [
        (lambda ids: [], "missing"),
        (lambda ids: [{"toolCallId": ids[0], "output": "a"}], "missing"),
        (lambda ids: [{"toolCallId": i, "output": "a"} for i in ids + ids[:1]], "more than once"),
        (
            lambda ids: [{"toolCallId": i, "output": "a"} for i in [*ids, "call_other"]],
            "not pending",
        ),
    ],
    ids=["none", "one-missing", "twice", "unknown"],
)
async def test_outputs_must_answer_every_call_once(
    gql: GraphQLClient, outputs: Any, words: str
) -> None:
    text = "/call get_weather {}\n/call get_time {}"
    run = await start_run(gql, await weather_assistant(gql), text)
    ids = [c["id"] for c in pending(await wait_for(gql, run["id"], WAITING))]
    error = await gql.error(SUBMIT, runId=run["id"], outputs=outputs(ids))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert words in error["message"]
    still = await wait_for(gql, run["id"], WAITING)  # nothing was taken
    assert [c["id"] for c in pending(still)] == ids


async def test_a_second_submit_conflicts(gql: GraphQLClient) -> None:
    run = await start_run(gql, await weather_assistant(gql), "/call get_weather {}")
    [call] = pending(await wait_for(gql, run["id"], WAITING))
    outputs = [{"toolCallId": call["id"], "output": "x"}]
    await gql(SUBMIT, runId=run["id"], outputs=outputs)
    error = await gql.error(SUBMIT, runId=run["id"], outputs=outputs)
    assert error["extensions"]["code"] == "CONFLICT"
    await wait_for(gql, run["id"])
    assert len(await thread_messages(gql, run["threadId"])) == 2


async def test_tool_choice_none_answers_without_calling(gql: GraphQLClient) -> None:
    run = await start_run(
        gql, await weather_assistant(gql), "/call get_weather {}", toolChoice={"type": "NONE"}
    )
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"


async def test_tool_choice_names_the_function_to_call(gql: GraphQLClient) -> None:
    choice = {"type": "FUNCTION", "function": {"name": "get_time"}}
    run = await start_run(gql, await weather_assistant(gql), "what time is it", toolChoice=choice)
    [call] = pending(await wait_for(gql, run["id"], WAITING))
    assert call["function"] == {"name": "get_time", "arguments": "{}"}


async def test_run_tools_override_the_assistants(gql: GraphQLClient) -> None:
    run = await start_run(
        gql, await weather_assistant(gql), "/call lookup {}", tools=[function_tool("lookup")]
    )
    [call] = pending(await wait_for(gql, run["id"], WAITING))
    assert call["function"]["name"] == "lookup"


async def test_calling_an_undeclared_function_fails_the_run(gql: GraphQLClient) -> None:
    run = await start_run(gql, await weather_assistant(gql), "/call launch_rockets {}")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "FAILED"
    assert done["lastError"]["code"] == "INVALID_PROMPT"
