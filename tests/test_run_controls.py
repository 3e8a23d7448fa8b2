"""Run controls reach the model: checked on the requests a real OpenAI-compatible server got."""

import asyncio
from typing import Any

import pytest

from tests.graphql import GraphQLClient
from tests.openai_server import OpenAICompatibleServer, Script, Scripted, ToolCall
from tests.runs import (
    CANCEL,
    CREATE_RUN,
    CREATE_THREAD,
    STEPS,
    SUBMIT,
    function_tool,
    new_assistant,
    start_run,
    thread_messages,
    wait_for,
    wait_until_streaming,
)

MODEL = "gpt-test"


async def test_every_control_is_sent_to_the_model(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(Script(text="Bonjour"))
    assistant = await new_assistant(
        gql, model=MODEL, instructions="Answer in French.", tools=[function_tool("f")]
    )
    run = await start_run(
        gql,
        assistant,
        "Hello",
        additionalInstructions="Be brief.",
        temperature=0.3,
        topP=0.9,
        maxCompletionTokens=300,
        toolChoice={"type": "REQUIRED"},
        parallelToolCalls=False,
        responseFormat={"type": "JSON_OBJECT"},
    )
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    body = server.requests[-1].body
    assert body["model"] == MODEL
    assert body["messages"] == [
        {"role": "system", "content": "Answer in French.\n\nBe brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 300
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {"type": "json_object"}
    assert [t["function"]["name"] for t in body["tools"]] == ["f"]
    assert (await thread_messages(gql, run["threadId"]))[-1]["text"] == "Bonjour"
    assert done["usage"] == {"promptTokens": 12, "completionTokens": 5, "totalTokens": 17}


BUILT_IN_TOOLS = [{"type": "FILE_SEARCH"}, {"type": "CODE_INTERPRETER"}]
FILE_SEARCH_FUNCTION = {"type": "function", "function": {"name": "file_search"}}


CODE_FUNCTION = {"type": "function", "function": {"name": "code_interpreter"}}


@pytest.mark.parametrize(
    ("choice", "sent"),
    [(None, "auto"), ({"type": "AUTO"}, "auto"), ({"type": "CODE_INTERPRETER"}, CODE_FUNCTION)],
)
async def test_code_interpreter_is_offered_as_a_function(
    gql: GraphQLClient, endpoint: Scripted, choice: dict[str, str] | None, sent: object
) -> None:
    server = endpoint(Script(text="Answered"))
    assistant = await new_assistant(gql, model=MODEL, tools=[{"type": "CODE_INTERPRETER"}])
    run = await start_run(gql, assistant, "hi", **({"toolChoice": choice} if choice else {}))
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    body = server.requests[-1].body
    assert [tool["function"]["name"] for tool in body["tools"]] == ["code_interpreter"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["code"]
    assert body["tool_choice"] == sent


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (None, "auto"),
        ({"type": "REQUIRED"}, "required"),
        ({"type": "FILE_SEARCH"}, FILE_SEARCH_FUNCTION),
    ],
)
async def test_file_search_is_offered_as_a_function(
    gql: GraphQLClient, endpoint: Scripted, choice: dict[str, str] | None, sent: object
) -> None:
    server = endpoint(Script(text="Answered"))
    assistant = await new_assistant(gql, model=MODEL, tools=BUILT_IN_TOOLS)
    run = await start_run(gql, assistant, "hi", **({"toolChoice": choice} if choice else {}))
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    body = server.requests[-1].body
    names = [tool["function"]["name"] for tool in body["tools"]]
    assert names == ["file_search", "code_interpreter"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["query"]
    assert body["tool_choice"] == sent


async def test_a_forced_code_interpreter_forces_its_function(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="No code for this"))
    tools = [function_tool("f"), {"type": "CODE_INTERPRETER"}]
    assistant = await new_assistant(gql, model=MODEL, tools=tools)
    run = await start_run(gql, assistant, "hi", toolChoice={"type": "CODE_INTERPRETER"})
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done
    body = server.requests[-1].body
    assert [t["function"]["name"] for t in body["tools"]] == ["f", "code_interpreter"]
    assert body["tool_choice"] == CODE_FUNCTION


async def test_a_forced_file_search_is_searched_first_then_the_model_is_free(
    gql: GraphQLClient,
) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("f"), *BUILT_IN_TOOLS])
    run = await start_run(gql, assistant, "/call f {}", toolChoice={"type": "FILE_SEARCH"})
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED", done  # searched once, then answered: no loop
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert [step["type"] for step in steps] == ["TOOL_CALLS", "MESSAGE_CREATION"]


async def test_instructions_override_and_model_override(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="ok"))
    assistant = await new_assistant(gql, instructions="Assistant's own.")
    run = await start_run(gql, assistant, "hi", model=MODEL, instructions="The run's.")
    await wait_for(gql, run["id"])
    assert server.requests[-1].body["messages"][0] == {"role": "system", "content": "The run's."}


async def test_endpoint_tool_calls_round_trip(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(Script(tool_calls=[ToolCall("lookup", '{"q": "threadline"}')]))
    assistant = await new_assistant(gql, model=MODEL, tools=[function_tool("lookup")])
    run = await start_run(gql, assistant, "search please")
    waiting = await wait_for(gql, run["id"], {"REQUIRES_ACTION"})
    [call] = waiting["requiredAction"]["submitToolOutputs"]["toolCalls"]
    assert call["function"] == {"name": "lookup", "arguments": '{"q": "threadline"}'}
    server.script = Script(text="Found it")
    await gql(SUBMIT, runId=run["id"], outputs=[{"toolCallId": call["id"], "output": "42"}])
    await wait_for(gql, run["id"])
    sent = server.requests[-1].body["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == call["id"]
    assert sent[-1] == {"role": "tool", "tool_call_id": call["id"], "content": "42"}
    assert (await thread_messages(gql, run["threadId"]))[-1]["text"] == "Found it"


@pytest.mark.parametrize(
    ("failures", "code"),
    [([429] * 10, "RATE_LIMIT_EXCEEDED"), ([500] * 10, "SERVER_ERROR"), ([400], "INVALID_PROMPT")],
)
async def test_endpoint_errors_fail_the_run(
    gql: GraphQLClient, endpoint: Scripted, failures: list[int], code: str
) -> None:
    server = endpoint(Script(text="never", fail_with=failures))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "hi")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "FAILED"
    assert done["lastError"]["code"] == code
    if code != "INVALID_PROMPT":
        assert len(server.requests) == 4  # retried with backoff before giving up


async def test_transient_errors_are_retried(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(Script(text="made it", fail_with=[503, 429]))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "hi")
    done = await wait_for(gql, run["id"])
    assert done["status"] == "COMPLETED"
    assert len(server.requests) == 3


ADD_MESSAGE = """mutation($threadId: ID!, $input: CreateMessageInput!) {
  createMessage(threadId: $threadId, input: $input) { id } }"""


CREATED_AT_ONCE = 100  # the most messages `createThread` takes


async def thread_of(gql: GraphQLClient, messages: list[dict[str, Any]]) -> str:
    created = await gql(CREATE_THREAD, input={"messages": messages[:CREATED_AT_ONCE]})
    thread_id = str(created["createThread"]["id"])
    for message in messages[CREATED_AT_ONCE:]:
        await gql(ADD_MESSAGE, threadId=thread_id, input=message)
    return thread_id


async def new_long_thread(gql: GraphQLClient, count: int) -> str:
    messages = [{"content": f"message number {i} " + "word " * 20} for i in range(count)]
    return await thread_of(gql, messages)


async def auto_truncated(
    gql: GraphQLClient, server: OpenAICompatibleServer, thread_id: str, max_prompt: int
) -> tuple[list[dict[str, Any]], list[int]]:
    """A run with `auto` truncation within `max_prompt` tokens: the prompt the endpoint got,
    and the numbers of the thread's messages in it, in order."""
    assistant = await new_assistant(gql, model=MODEL, instructions="Short.")
    input_ = {"assistantId": assistant, "maxPromptTokens": max_prompt}
    run = (await gql(CREATE_RUN, threadId=thread_id, input=input_))["createRun"]
    await wait_for(gql, run["id"])
    sent: list[dict[str, Any]] = server.requests[-1].body["messages"]
    return sent, [int(text.split()[2]) for text in sent_texts(server)]


def sent_texts(server: OpenAICompatibleServer) -> list[str]:
    return [m["content"] for m in server.requests[-1].body["messages"] if m["role"] == "user"]


async def test_last_messages_keeps_the_newest_n(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(Script(text="ok"))
    thread_id = await new_long_thread(gql, 12)
    assistant = await new_assistant(gql, model=MODEL)
    truncation = {"type": "LAST_MESSAGES", "lastMessages": 3}
    input_: dict[str, Any] = {"assistantId": assistant, "truncationStrategy": truncation}
    run = (await gql(CREATE_RUN, threadId=thread_id, input=input_))["createRun"]
    await wait_for(gql, run["id"])
    texts = sent_texts(server)
    assert [t.split()[2] for t in texts] == ["9", "10", "11"]


async def test_auto_truncation_drops_the_middle(gql: GraphQLClient, endpoint: Scripted) -> None:
    from engine import tokens
    from engine.prompt import HEAD_MESSAGES

    server = endpoint(Script(text="ok"))
    thread_id = await new_long_thread(gql, 40)  # ~27 tokens each: ~1,100 in all
    sent, numbers = await auto_truncated(gql, server, thread_id, 300)
    assert tokens.count_messages(sent) <= 300
    # The first messages, then the newest, contiguous, in order: the middle is dropped.
    head, tail = numbers[:HEAD_MESSAGES], numbers[HEAD_MESSAGES:]
    assert head == list(range(HEAD_MESSAGES))
    assert tail == list(range(40 - len(tail), 40))
    assert 2 < len(tail) < 36
    one_more = {"role": "user", "content": f"message number {tail[0] - 1} " + "word " * 20}
    assert tokens.count_messages([*sent, one_more]) > 300  # the next older did not fit


@pytest.mark.parametrize("older", ["shorter", "longer"])
async def test_auto_truncation_of_a_long_thread_whose_older_messages_differ(
    gql: GraphQLClient, endpoint: Scripted, older: str
) -> None:
    """The thread is read back in ranges sized by what its newest messages cost: older ones
    of another size make those ranges too short (another is read) or too long (some read are
    left out); the prompt is the same either way."""
    from engine import tokens
    from engine.prompt import HEAD_MESSAGES

    server = endpoint(Script(text="ok"))
    count, newest = 160, 40
    words = {"shorter": (3, 30), "longer": (30, 3)}[older]
    messages = [
        {"content": f"message number {i} " + "word " * words[i >= count - newest]}
        for i in range(count)
    ]
    sent, numbers = await auto_truncated(gql, server, await thread_of(gql, messages), 2500)
    assert tokens.count_messages(sent) <= 2500
    head, tail = numbers[:HEAD_MESSAGES], numbers[HEAD_MESSAGES:]
    assert head == list(range(HEAD_MESSAGES))
    assert tail == list(range(count - len(tail), count))
    assert newest < len(tail) < count - HEAD_MESSAGES
    before = tail[0] - 1
    one_more = {"role": "user", "content": messages[before]["content"]}
    assert tokens.count_messages([*sent, one_more]) > 2500  # the next older did not fit


async def test_auto_truncation_reads_across_a_wide_hole(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    """Messages deleted from the middle leave positions with nothing in them: the prompt is
    still the first messages and the newest that fit, contiguous across the hole."""
    from engine import tokens
    from engine.prompt import HEAD_MESSAGES
    from models.message import MessageDocument

    server = endpoint(Script(text="ok"))
    count = 160
    messages = [{"content": f"message number {i} " + "word " * 20} for i in range(count)]
    thread_id = await thread_of(gql, messages)
    gone = range(40, 150)  # message i is at position i + 1
    await MessageDocument.get_pymongo_collection().delete_many(
        {"thread_id": thread_id, "position": {"$in": [i + 1 for i in gone]}}
    )
    sent, numbers = await auto_truncated(gql, server, thread_id, 1200)
    left = [i for i in range(count) if i not in gone]
    head, tail = numbers[:HEAD_MESSAGES], numbers[HEAD_MESSAGES:]
    assert head == left[:HEAD_MESSAGES]
    assert tail == left[len(left) - len(tail) :]
    assert 10 < len(tail) < len(left) - HEAD_MESSAGES  # across the hole, not to the head
    before = left[len(left) - len(tail) - 1]
    one_more = {"role": "user", "content": messages[before]["content"]}
    assert tokens.count_messages([*sent, one_more]) > 1200  # the next older did not fit


LAST_MESSAGES = """query($id: ID!) { thread(id: $id) { messages(first: 100) {
  nodes { id text } } } }"""
DELETE_MESSAGE = "mutation($id: ID!) { deleteMessage(id: $id) { id } }"


async def test_a_second_auto_truncated_run_after_deletions_and_new_messages(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    """The second run's prompt is read partly from what the first one's read left in memory
    (models/history_window.py): it is still the first messages and the newest that fit,
    without those deleted since, with those added, and further back with more room."""
    from engine import tokens
    from engine.prompt import HEAD_MESSAGES

    server = endpoint(Script(text="ok"))
    count, gone = 160, (150, 155)
    messages = [{"content": f"message number {i} " + "word " * 20} for i in range(count + 6)]
    thread_id = await thread_of(gql, messages[:count])
    _, before = await auto_truncated(gql, server, thread_id, 1200)
    assert set(gone) < set(before)
    newest = (await gql(LAST_MESSAGES, id=thread_id))["thread"]["messages"]["nodes"]
    for node in newest:
        if node["text"].split()[2:3] in ([str(number)] for number in gone):
            await gql(DELETE_MESSAGE, id=node["id"])
    for message in messages[count:]:
        await gql(ADD_MESSAGE, threadId=thread_id, input=message)

    sent, numbers = await auto_truncated(gql, server, thread_id, 2000)
    left = [i for i in range(count + 6) if i not in gone]
    head, tail = numbers[:HEAD_MESSAGES], numbers[HEAD_MESSAGES:]
    assert head == left[:HEAD_MESSAGES]
    assert tail == left[len(left) - len(tail) :]
    assert len(before) < len(numbers) < len(left)
    one_more = {"role": "user", "content": messages[left[len(left) - len(tail) - 1]]["content"]}
    assert tokens.count_messages([*sent, one_more]) > 2000  # the next older did not fit


async def test_auto_truncation_keeps_a_short_thread_whole(
    gql: GraphQLClient, endpoint: Scripted
) -> None:
    server = endpoint(Script(text="ok"))
    thread_id = await new_long_thread(gql, 6)
    input_ = {"assistantId": await new_assistant(gql, model=MODEL), "maxPromptTokens": 1000}
    run = (await gql(CREATE_RUN, threadId=thread_id, input=input_))["createRun"]
    await wait_for(gql, run["id"])
    assert [int(t.split()[2]) for t in sent_texts(server)] == list(range(6))


async def test_a_prompt_that_cannot_fit_ends_incomplete(gql: GraphQLClient) -> None:
    run = await start_run(gql, await new_assistant(gql), "word " * 400, maxPromptTokens=256)
    done = await wait_for(gql, run["id"])
    assert done["status"] == "INCOMPLETE"
    assert done["incompleteDetails"] == {"reason": "max_prompt_tokens"}
    steps = (await gql(STEPS, id=run["id"]))["run"]["steps"]["nodes"]
    assert steps == []


async def test_cancel_closes_the_endpoints_stream(gql: GraphQLClient, endpoint: Scripted) -> None:
    words = " ".join(f"w{i}" for i in range(100))
    server = endpoint(Script(text=words, chunk_delay=0.05))
    run = await start_run(gql, await new_assistant(gql, model=MODEL), "talk")
    await wait_until_streaming(gql, run["id"])
    await gql(CANCEL, runId=run["id"])
    done = await wait_for(gql, run["id"], timeout=5)
    assert done["status"] == "CANCELLED"
    await asyncio.wait_for(server.disconnected.wait(), 2)  # the HTTP stream was closed
    answer = (await thread_messages(gql, run["threadId"]))[-1]
    assert answer["status"] == "INCOMPLETE"
    assert 0 < len(answer["text"]) < len(words)
