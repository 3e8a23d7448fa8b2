"""code_interpreter in runs: code run in the thread's real bubblewrap sandbox, its logs,
files and figures back in the step and the answer; and escapes that fail, each leaving the
server healthy and the thread's next call working."""

import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.graphql import GraphQLClient
from tests.openai_server import Script, Scripted, ToolCall
from tests.runs import CREATE_RUN, function_tool, new_assistant, start_run, wait_for
from tests.test_subscriptions import collect_run
from tests.ws import Live

CODE = {"type": "CODE_INTERPRETER"}
MODEL = "gpt-test"  # any name but the built-in one goes to the test endpoint
CODE_STEPS = """query($id: ID!) { run(id: $id) { steps(order: ASC) { nodes { type status
  stepDetails { ... on ToolCallsDetails { toolCalls { __typename
    ... on CodeInterpreterToolCall { id codeInterpreter { input outputs { __typename
      ... on CodeInterpreterLogs { logs }
      ... on CodeInterpreterImage { image { fileId } } } } }
  } } } } } } }"""
ANSWER = """query($id: ID!) { thread(id: $id) { messages(order: ASC) { nodes { role text
  content { __typename
    ... on ImageFileContent { imageFile { fileId } }
    ... on TextContent { text { value annotations {
      ... on FilePathAnnotation { text startIndex endIndex fileId } } } } } } } } }"""
ADD_MESSAGE = """mutation($threadId: ID!, $input: CreateMessageInput!) {
  createMessage(threadId: $threadId, input: $input) { id } }"""
FILE = "query($id: ID!) { file(id: $id) { id filename purpose bytes downloadUrl } }"


async def code_steps(gql: GraphQLClient, run_id: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql(CODE_STEPS, id=run_id))["run"]["steps"]["nodes"]
    return nodes


async def run_code(
    gql: GraphQLClient, assistant: str, code: str, thread_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs `/python` code (in a new thread, or the given one): the ended run and its code
    call."""
    text = f"/python\n{code}"
    if thread_id is None:
        run = await start_run(gql, assistant, text)
    else:
        await gql(ADD_MESSAGE, threadId=thread_id, input={"role": "USER", "content": text})
        run = (await gql(CREATE_RUN, threadId=thread_id, input={"assistantId": assistant}))[
            "createRun"
        ]
    ended = await wait_for(gql, run["id"], timeout=60)
    assert ended["status"] == "COMPLETED", ended
    steps = await code_steps(gql, run["id"])
    assert [(s["type"], s["status"]) for s in steps] == [
        ("TOOL_CALLS", "COMPLETED"),
        ("MESSAGE_CREATION", "COMPLETED"),
    ]
    (call,) = steps[0]["stepDetails"]["toolCalls"]
    assert call["__typename"] == "CodeInterpreterToolCall"
    assert call["codeInterpreter"]["input"] == code
    return ended, call["codeInterpreter"]


def logs_of(call: dict[str, Any]) -> str:
    return "".join(o["logs"] for o in call["outputs"] if o["__typename"] == "CodeInterpreterLogs")


async def answer_of(gql: GraphQLClient, thread_id: str) -> dict[str, Any]:
    nodes = (await gql(ANSWER, id=thread_id))["thread"]["messages"]["nodes"]
    answer: dict[str, Any] = nodes[-1]
    assert answer["role"] == "ASSISTANT"
    return answer


async def download(gql: GraphQLClient, file_id: str) -> bytes:
    url = (await gql(FILE, id=file_id))["file"]["downloadUrl"]
    response = await gql.http.get(url)
    assert response.status_code == 200, response.text
    return response.content


async def test_arithmetic(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    ended, call = await run_code(gql, assistant, "print(6 * 7)\n2 ** 10")
    assert logs_of(call) == "42\n1024\n"
    answer = await answer_of(gql, ended["threadId"])
    assert "42" in answer["text"]
    assert "1024" in answer["text"]


async def test_state_lasts_across_calls_of_one_thread(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    ended, _ = await run_code(gql, assistant, "import os\nx = 41\nopen('kept.txt', 'w').write('k')")
    _, call = await run_code(
        gql, assistant, "print(x + 1, open('kept.txt').read())", ended["threadId"]
    )
    assert logs_of(call) == "42 k\n"
    # Another thread has a session of its own.
    _, other = await run_code(gql, assistant, "print('x' in globals())")
    assert logs_of(other) == "False\n"


async def test_a_written_csv_comes_back_as_a_file_with_a_file_path(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    code = (
        "import pandas as pd\n"
        "pd.DataFrame({'n': [1, 2, 3]}).to_csv('/mnt/data/numbers.csv', index=False)"
    )
    ended, call = await run_code(gql, assistant, code)
    assert not [o for o in call["outputs"] if o["__typename"] == "CodeInterpreterImage"]
    answer = await answer_of(gql, ended["threadId"])
    text = answer["content"][0]["text"]
    (link,) = text["annotations"]
    assert link["text"] == "sandbox:/mnt/data/numbers.csv"
    assert text["value"][link["startIndex"] : link["endIndex"]] == link["text"]
    made = (await gql(FILE, id=link["fileId"]))["file"]
    assert (made["filename"], made["purpose"]) == ("numbers.csv", "ASSISTANTS_OUTPUT")
    assert await download(gql, link["fileId"]) == b"n\n1\n2\n3\n"


async def test_a_chart_comes_back_as_an_image(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('chart')\nplt.show()"
    ended, call = await run_code(gql, assistant, code)
    (image,) = [o for o in call["outputs"] if o["__typename"] == "CodeInterpreterImage"]
    file_id = image["image"]["fileId"]
    assert (await download(gql, file_id)).startswith(b"\x89PNG\r\n\x1a\n")
    answer = await answer_of(gql, ended["threadId"])
    parts = [p["__typename"] for p in answer["content"]]
    assert parts == ["TextContent", "ImageFileContent"]
    assert answer["content"][1]["imageFile"]["fileId"] == file_id


async def test_input_files_are_under_mnt_data(gql: GraphQLClient) -> None:
    known = await gql.upload("known.txt", b"from the assistant")
    assistant = await new_assistant(
        gql, tools=[CODE], toolResources={"codeInterpreter": {"fileIds": [known["id"]]}}
    )
    shared = await gql.upload("data.csv", b"a,b\n1,2\n")
    message = {
        "content": "/python\nprint(sorted(os.listdir('/mnt/data')))\n"
        "print(open('/mnt/data/data.csv').read() + open('known.txt').read())",
        "attachments": [{"fileId": shared["id"], "tools": ["CODE_INTERPRETER"]}],
    }
    data = await gql(
        """mutation($input: CreateThreadAndRunInput!) { createThreadAndRun(input: $input) {
          id } }""",
        input={"assistantId": assistant, "thread": {"messages": [message]}},
    )
    ended = await wait_for(gql, data["createThreadAndRun"]["id"], timeout=60)
    assert ended["status"] == "COMPLETED", ended
    (call,) = (await code_steps(gql, ended["id"]))[0]["stepDetails"]["toolCalls"]
    logs = logs_of(call["codeInterpreter"])
    # os is not imported: the call fails, yet the run goes on with the error as output.
    assert "NameError" in logs
    _, call2 = await run_code(
        gql,
        assistant,
        "import os\nprint(sorted(os.listdir('/mnt/data')))\n"
        "print(open('/mnt/data/data.csv').read() + open('known.txt').read())",
        ended["threadId"],
    )
    assert logs_of(call2) == "['data.csv', 'known.txt']\na,b\n1,2\nfrom the assistant\n"


ESCAPES = {
    "network": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)",
    # The Threadline server itself, on its real loopback port.
    "server": "import socket\nsocket.create_connection(('127.0.0.1', {server_port}), timeout=3)",
    "internet": "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)",
    "host file": "open({host_file!r}).read()",
    "host process": "import os\nos.kill({pid}, 0)",
    "write outside": "open('/usr/escaped', 'w').write('x')",
    "write root": "open('/escaped', 'w').write('x')",
}


@pytest.mark.parametrize("attempt", sorted(ESCAPES))
async def test_escapes_fail(gql: GraphQLClient, live: Live, attempt: str, tmp_path: Any) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    code = ESCAPES[attempt].format(
        port=listener.getsockname()[1],
        server_port=urlsplit(live.ws_url).port,
        host_file=str(secret),
        pid=os.getpid(),
    )
    assistant = await new_assistant(gql, tools=[CODE])
    try:
        ended, call = await run_code(gql, assistant, code)
    finally:
        listener.close()
    logs = logs_of(call)
    assert "Traceback" in logs, logs
    assert "host secret" not in logs
    assert any(
        error in logs
        for error in (
            "ConnectionRefusedError",
            "OSError: [Errno 101]",  # network unreachable
            "FileNotFoundError",
            "ProcessLookupError",
            "Read-only file system",
            "PermissionError",
        )
    ), logs
    assert not os.path.exists("/usr/escaped")
    assert not os.path.exists("/escaped")
    await _still_working(gql, assistant, ended["threadId"])


async def _still_working(gql: GraphQLClient, assistant: str, thread_id: str) -> None:
    _, call = await run_code(gql, assistant, "print('still here')", thread_id)
    assert logs_of(call) == "still here\n"


async def test_only_its_own_processes_are_visible(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    code = "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    _, call = await run_code(gql, assistant, code)
    assert json.loads(logs_of(call)) == [1, 2]  # bwrap's init and the interpreter


LIMITS = {
    "fork bomb": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError as e:\n"
        "        print('refused:', e)\n        break",
        "refused: [Errno 11]",
    ),
    "memory bomb": (
        "blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))",
        "MemoryError",
    ),
    "memory of many processes": (
        "import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n"
        "        data = b'x' * 300_000_000\n        time.sleep(60)\n        os._exit(0)\n"
        "time.sleep(60)",
        "memory limit exceeded (536870912 bytes, all processes together): the call was stopped "
        "and the session reset",
    ),
    "endless loop": ("while True:\n    pass", "CPU time limit exceeded (3 s)"),
    "sleeping": ("import time\ntime.sleep(100)", "wall time limit exceeded (15 s)"),
    "output flood": ("while True:\n    print('x' * 1000)", "output limit exceeded (65536 bytes)"),
    "disk flood": ("open('/mnt/data/big', 'wb').write(b'0' * (300 << 20))", "Error"),
}


@pytest.mark.parametrize("attempt", sorted(LIMITS))
async def test_limits_end_the_call_and_the_run_goes_on(gql: GraphQLClient, attempt: str) -> None:
    code, expected = LIMITS[attempt]
    assistant = await new_assistant(gql, tools=[CODE])
    ended, call = await run_code(gql, assistant, code)
    logs = logs_of(call)
    assert expected in logs, logs[-2000:]
    assert len(logs) <= 64 * 1024 + 200
    await _still_working(gql, assistant, ended["threadId"])


async def test_an_endpoint_model_forced_to_run_code(gql: GraphQLClient, endpoint: Scripted) -> None:
    server = endpoint(
        Script(
            tool_calls=[ToolCall("code_interpreter", json.dumps({"code": "print(sum(range(5)))"}))],
            after_tools=Script(text="The sum is 10."),
        )
    )
    assistant = await new_assistant(gql, model=MODEL, tools=[CODE])
    run = await start_run(gql, assistant, "add up", toolChoice={"type": "CODE_INTERPRETER"})
    ended = await wait_for(gql, run["id"], timeout=60)
    assert ended["status"] == "COMPLETED", ended
    first, second = (r.body for r in server.requests)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "code_interpreter"}}
    assert [t["function"]["name"] for t in first["tools"]] == ["code_interpreter"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "10"
    assert second["tool_choice"] == "auto"
    steps = await code_steps(gql, run["id"])
    (call,) = steps[0]["stepDetails"]["toolCalls"]
    assert logs_of(call["codeInterpreter"]) == "10\n"


async def test_python_without_the_tool_is_refused(gql: GraphQLClient) -> None:
    assistant = await new_assistant(gql, tools=[function_tool("lookup")])
    run = await start_run(gql, assistant, "/python\nprint(1)")
    ended = await wait_for(gql, run["id"])
    assert ended["status"] == "FAILED"
    assert "CODE_INTERPRETER" in ended["lastError"]["message"]


async def test_code_and_logs_stream_into_the_step(gql: GraphQLClient, live: Live) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.6)"
    run = await start_run(gql, assistant, f"/python\n{code}")
    events = await collect_run(live, run["id"])
    assert events[-1]["event"] == "thread.run.completed"
    deltas = [
        call
        for e in events
        if e["event"] == "thread.run.step.delta"
        for call in e["delta"]["step_details"]["tool_calls"]
    ]
    told_code = "".join(d.get("code_interpreter", {}).get("input", "") for d in deltas)
    assert told_code == code
    logs = [
        output["logs"]
        for d in deltas
        for output in d.get("code_interpreter", {}).get("outputs", [])
    ]
    assert len(logs) >= 2  # as they came, not all at the end
    (call,) = (await code_steps(gql, run["id"]))[0]["stepDetails"]["toolCalls"]
    assert "".join(logs) == logs_of(call["codeInterpreter"]) == "tick 0\ntick 1\ntick 2\n"
    names = [e["event"] for e in events]
    first_logs = next(
        i
        for i, e in enumerate(events)
        if e["event"] == "thread.run.step.delta" and "outputs" in str(e["delta"])
    )
    assert first_logs < names.index("thread.run.step.completed")


async def test_a_chart_is_told_as_an_image_part(gql: GraphQLClient, live: Live) -> None:
    assistant = await new_assistant(gql, tools=[CODE])
    run = await start_run(gql, assistant, "/python\nimport matplotlib.pyplot as plt\nplt.plot([1])")
    events = await collect_run(live, run["id"])
    parts = [
        part
        for e in events
        if e["event"] == "thread.message.delta"
        for part in e["delta"]["content"]
        if part["type"] == "image_file"
    ]
    answer = await answer_of(gql, run["threadId"])
    (image,) = [p for p in answer["content"] if p["__typename"] == "ImageFileContent"]
    assert [(p["index"], p["image_file"]["file_id"]) for p in parts] == [
        (1, image["imageFile"]["fileId"])
    ]
