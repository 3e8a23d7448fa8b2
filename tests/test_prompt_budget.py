"""`maxPromptTokens` holds over the whole run (OpenAI: "over the course of the run"): each turn's
prompt gets what the earlier turns left; checked on what a real OpenAI-compatible endpoint got."""

from typing import Any

from engine import tokens
from tests.graphql import GraphQLClient
from tests.openai_server import OpenAICompatibleServer, Script, Scripted, ToolCall
from tests.runs import (
    CREATE_RUN,
    CREATE_THREAD,
    STEPS,
    SUBMIT,
    function_tool,
    new_assistant,
    wait_for,
)

MODEL = "gpt-test"  # counted with cl100k_base, as `tokens.count_messages` counts by default
WAITING = {"REQUIRES_ACTION"}


async def thread_of(gql: GraphQLClient, count: int, words: int = 20) -> str:
    messages = [{"content": f"message number {i} " + "word " * words} for i in range(count)]
    data = await gql(CREATE_THREAD, input={"messages": messages})
    return str(data["createThread"]["id"])


async def run_with_a_tool_call(
    gql: GraphQLClient, server: OpenAICompatibleServer, thread_id: str, max_prompt: int
) -> dict[str, Any]:
    """A run that calls `lookup` once (the endpoint's first answer), then is given its output."""
    assistant = await new_assistant(gql, model=MODEL, tools=[function_tool("lookup")])
    input_ = {"assistantId": assistant, "maxPromptTokens": max_prompt}
    run: dict[str, Any] = (await gql(CREATE_RUN, threadId=thread_id, input=input_))["createRun"]
    waiting = await wait_for(gql, run["id"], WAITING)
    [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
    server.script = Script(text="The answer.", usage=server.script.usage)
    await gql(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "42"}])
    return await wait_for(gql, run["id"])


def thread_numbers(messages: list[dict[str, Any]]) -> list[int]:
    return [int(m["content"].split()[2]) for m in messages if m["role"] == "user"]


async def test_the_second_turn_gets_what_the_first_left(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    # No usage from the endpoint: the run counts its prompts itself.
    server = endpoint(Script(tool_calls=[ToolCall("lookup", "{}")], usage=None))
    thread_id = await thread_of(gql, 6)  # ~30 tokens each
    done = await run_with_a_tool_call(gql, server, thread_id, 330)
    assert done["status"] == "COMPLETED", done
    first, second = (received.body["messages"] for received in server.requests)
    assert thread_numbers(first) == list(range(6))  # the whole thread fit the first turn
    assert tokens.count_messages(first) + tokens.count_messages(second) <= 330
    numbers = thread_numbers(second)
    assert numbers[0] == 0  # the first message
    assert numbers[-1] == 5  # the newest
    assert len(numbers) < 6  # some of the middle was dropped
    assert second[-2]["tool_calls"][0]["function"]["name"] == "lookup"  # the run's own turns
    assert second[-1]["content"] == "42"
    spent = tokens.count_messages(first) + tokens.count_messages(second)
    assert done["usage"]["promptTokens"] == spent


async def test_a_run_whose_turns_use_up_the_prompt_budget_ends_incomplete(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    # The endpoint says the first turn read 290 prompt tokens: 10 are left, too few for the
    # second turn's prompt (the question, the call and its output).
    server = endpoint(Script(tool_calls=[ToolCall("lookup", "{}")], usage=(290, 5)))
    thread_id = await thread_of(gql, 1, words=3)
    done = await run_with_a_tool_call(gql, server, thread_id, 300)
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] == {"reason": "max_prompt_tokens"}
    assert done["usage"] == {"promptTokens": 290, "completionTokens": 5, "totalTokens": 295}
    assert len(server.requests) == 1  # the second turn was never sent
    steps = (await gql(STEPS, id=done["id"]))["run"]["steps"]["nodes"]
    assert [(s["type"], s["status"]) for s in steps] == [("TOOL_CALLS", "COMPLETED")]


async def test_a_run_that_spent_its_prompt_budget_asks_nothing_more(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(tool_calls=[ToolCall("lookup", "{}")], usage=(300, 5)))
    done = await run_with_a_tool_call(gql, server, await thread_of(gql, 1, words=3), 300)
    assert (done["status"], done["incompleteDetails"]) == (
        "INCOMPLETE",
        {"reason": "max_prompt_tokens"},
    )
    assert len(server.requests) == 1


async def test_within_the_budget_the_run_completes(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(Script(tool_calls=[ToolCall("lookup", "{}")], usage=(200, 5)))
    done = await run_with_a_tool_call(gql, server, await thread_of(gql, 1, words=3), 300)
    assert done["status"] == "COMPLETED", done
    assert done["usage"]["promptTokens"] == 400  # each turn's usage, as the endpoint told it
    assert tokens.count_messages(server.requests[1].body["messages"]) <= 100


async def test_a_long_first_message_does_not_crowd_out_the_newest(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    # The thread's first messages get at most half the room: the rest goes to the newest.
    server = endpoint(Script(text="ok"))
    messages = [{"content": "message number 0 " + "word " * 200}]
    messages += [{"content": f"message number {i} " + "word " * 5} for i in range(1, 30)]
    thread_id = (await gql(CREATE_THREAD, input={"messages": messages}))["createThread"]["id"]
    input_ = {"assistantId": await new_assistant(gql, model=MODEL), "maxPromptTokens": 300}
    run = (await gql(CREATE_RUN, threadId=thread_id, input=input_))["createRun"]
    await wait_for(gql, run["id"])
    numbers = thread_numbers(server.requests[-1].body["messages"])
    assert 0 not in numbers
    assert numbers == list(range(30 - len(numbers), 30))
