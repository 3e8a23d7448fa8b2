"""The official openai Node SDK on the live server: a streamed run as a JavaScript frontend or
server makes one (tests/node/stream_run.mjs), read back through the Python SDK."""

import asyncio
import contextlib
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.test_subscriptions import ANSWER_END, ANSWER_EVENTS

NODE_DIR = Path(__file__).parent / "node"
INSTALL = "`make test` installs it (apt-get install nodejs npm; npm ci --prefix tests/node)"

# OpenAI's order for a plain text answer, each run of message deltas counted once.
TEXT_RUN_EVENTS = [*ANSWER_EVENTS, "thread.message.delta", *ANSWER_END]


async def run_node(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Runs a script of tests/node and returns the one JSON line it prints.

    An asyncio subprocess: the server answering the script runs in this test's event loop."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is missing: {INSTALL}")
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        pytest.fail(f"tests/node/node_modules has no openai package: {INSTALL}")
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:  # timed out or cancelled: it must not outlive the test
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode == 0, f"{script} exited with {process.returncode}:\n{err.decode()}"
    lines = out.decode().splitlines()
    assert len(lines) == 1, f"{script} printed {lines!r}\n{err.decode()}"
    result: dict[str, Any] = json.loads(lines[0])
    return result


async def test_streamed_run_through_the_node_sdk(
    openai_client: AsyncOpenAI, rest_url: str, dev_key: str
) -> None:
    result = await run_node("stream_run.mjs", rest_url, dev_key)

    assert result["final_run_status"] == "completed"
    run = await openai_client.beta.threads.runs.retrieve(
        result["run_id"], thread_id=result["thread_id"]
    )
    assert (run.status, run.assistant_id) == ("completed", result["assistant_id"])

    stored = await openai_client.beta.threads.messages.list(result["thread_id"], order="asc")
    assert [m.role for m in stored.data] == ["user", "assistant"]
    answer = stored.data[1]
    answer_text = answer.content[0].text.value  # type: ignore[union-attr]
    # The scripted model's deterministic answer, streamed word by word (its `/slow` apart).
    assert answer_text == "You said: Hello from the Node SDK"
    assert result["text"] == answer_text
    assert result["final_messages"] == [{"id": answer.id, "role": "assistant", "text": answer_text}]

    events = result["events"]
    assert events.count("thread.message.delta") >= 2  # the SDK accumulated several deltas
    assert [name for name, _ in itertools.groupby(events)] == TEXT_RUN_EVENTS

    not_found = result["not_found"]
    assert (not_found["status"], not_found["type"]) == (404, "invalid_request_error")
    assert "No assistant found with id 'asst_unknown'" in not_found["message"]
