"""Runs and run steps through the official openai SDK: polling helpers, streams with an
event handler, function calling, cancel, steps, errors and isolation."""

import json
from collections.abc import Awaitable
from typing import Any

import httpx2
import openai
import pytest
from fastapi import FastAPI
from openai import AsyncAssistantEventHandler, AsyncOpenAI
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Text, TextDelta
from openai.types.beta.threads.runs import RunStep, ToolCall

from app.main import create_app
from app.settings import Settings
from engine.catalog import SCRIPTED_MODEL
from tests.openai_server import Script, Scripted

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
    },
}


class Recorder(AsyncAssistantEventHandler):
    """What user code typically keeps from a stream: the text as it came, the events."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.events: list[str] = []
        self.tool_calls: list[ToolCall] = []

    async def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    async def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.text += delta.value or ""

    async def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.tool_calls.append(tool_call)


async def _assistant(sdk: AsyncOpenAI, **fields: Any) -> str:
    return (await sdk.beta.assistants.create(model=SCRIPTED_MODEL, **fields)).id


async def _answer(sdk: AsyncOpenAI, thread_id: str) -> str:
    newest = (await sdk.beta.threads.messages.list(thread_id, limit=1)).data[0]
    assert newest.role == "assistant"
    return "".join(part.text.value for part in newest.content if part.type == "text")


async def test_create_and_run_poll(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client)
    run = await openai_client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "hello there"}]},
        poll_interval_ms=50,
    )
    assert run.status == "completed"
    assert run.object == "thread.run"
    assert run.usage is not None
    assert run.usage.total_tokens > 0
    assert run.expires_at is None
    assert run.tool_choice == "auto"
    assert run.truncation_strategy.type == "auto"  # type: ignore[union-attr]
    assert await _answer(openai_client, run.thread_id) == "You said: hello there"


async def test_stream_text_equals_the_stored_message(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client)
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": "one two three four five"}]
    )
    recorder = Recorder()
    async with openai_client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, event_handler=recorder
    ) as stream:
        await stream.until_done()
        final = await stream.get_final_run()
        messages = await stream.get_final_messages()
    assert final.status == "completed"
    stored = await _answer(openai_client, thread.id)
    assert recorder.text == stored == "You said: one two three four five"
    assert [m.content[0].text.value for m in messages] == [stored]  # type: ignore[union-attr]
    assert recorder.events[:3] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
    ]
    assert recorder.events[-1] == "thread.run.completed"
    assert "thread.message.delta" in recorder.events
    assert recorder.events.index("thread.run.step.created") < recorder.events.index(
        "thread.message.created"
    )


async def test_create_thread_and_run_stream_starts_with_the_thread(
    openai_client: AsyncOpenAI,
) -> None:
    assistant_id = await _assistant(openai_client)
    recorder = Recorder()
    async with openai_client.beta.threads.create_and_run_stream(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "streamed"}]},
        event_handler=recorder,
    ) as stream:
        await stream.until_done()
    assert recorder.events[0] == "thread.created"
    assert recorder.text == "You said: streamed"


async def test_function_calling_with_streams(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client, tools=[LOOKUP])
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": '/call lookup {"word": "otter"}'}]
    )
    first = Recorder()
    async with openai_client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, event_handler=first
    ) as stream:
        await stream.until_done()
        paused = await stream.get_final_run()
    assert first.events[-1] == "thread.run.requires_action"
    assert paused.status == "requires_action"
    assert paused.required_action is not None
    calls = paused.required_action.submit_tool_outputs.tool_calls
    assert [(c.type, c.function.name) for c in calls] == [("function", "lookup")]
    assert json.loads(calls[0].function.arguments) == {"word": "otter"}
    streamed = {c.id: c for c in first.tool_calls}  # as the SDK put each together
    assert list(streamed) == [calls[0].id]
    assert streamed[calls[0].id].function.arguments == calls[0].function.arguments  # type: ignore[union-attr]

    second = Recorder()
    async with openai_client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=paused.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": "a water mammal"}],
        event_handler=second,
    ) as stream:
        await stream.until_done()
    assert "thread.run.created" not in second.events
    assert second.events[-1] == "thread.run.completed"
    assert "a water mammal" in second.text
    assert second.text == await _answer(openai_client, thread.id)

    steps = (await openai_client.beta.threads.runs.steps.list(paused.id, thread_id=thread.id)).data
    assert [s.type for s in steps] == ["message_creation", "tool_calls"]  # newest first
    tool_step: RunStep = steps[1]
    assert tool_step.step_details.type == "tool_calls"
    done = tool_step.step_details.tool_calls[0]
    assert done.function.output == "a water mammal"  # type: ignore[union-attr]
    again = await openai_client.beta.threads.runs.steps.retrieve(
        tool_step.id, thread_id=thread.id, run_id=paused.id
    )
    assert again == tool_step


async def test_polling_helpers_with_tool_outputs(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client, tools=[LOOKUP])
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": '/call lookup {"word": "heron"}'}]
    )
    run = await openai_client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    assert run.status == "requires_action"
    assert run.usage is None  # OpenAI's: only once the run ended
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    done = await openai_client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "a bird"}],
        poll_interval_ms=50,
    )
    assert done.status == "completed"
    listed = await openai_client.beta.threads.runs.list(thread.id)
    assert [r.id for r in listed.data] == [run.id]


async def test_cancel_and_active_run_conflict(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client, tools=[LOOKUP])
    thread = await openai_client.beta.threads.create(
        messages=[{"role": "user", "content": "/call lookup {}"}]
    )
    run = await openai_client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    with pytest.raises(openai.BadRequestError) as busy:  # 400 as OpenAI's, never retried
        await openai_client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    assert busy.value.status_code == 400
    assert "active run" in busy.value.message
    cancelled = await openai_client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    with pytest.raises(openai.BadRequestError):
        await openai_client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    updated = await openai_client.beta.threads.runs.update(
        run.id, thread_id=thread.id, metadata={"note": "done"}
    )
    assert updated.metadata == {"note": "done"}


async def test_paths_name_their_parents(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client)
    run = await openai_client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        poll_interval_ms=50,
    )
    other = await openai_client.beta.threads.create()
    with pytest.raises(openai.NotFoundError):
        await openai_client.beta.threads.runs.retrieve(run.id, thread_id=other.id)
    step = (await openai_client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)).data[
        0
    ]
    with pytest.raises(openai.NotFoundError):
        await openai_client.beta.threads.runs.steps.retrieve(
            step.id, thread_id=other.id, run_id=run.id
        )
    with pytest.raises(openai.NotFoundError):
        await openai_client.beta.threads.runs.list("thread_unknown")
    with pytest.raises(openai.NotFoundError):
        await openai_client.beta.threads.runs.create(
            thread_id="thread_unknown", assistant_id=assistant_id
        )


async def test_bad_input(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client)
    thread = await openai_client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as bad:
        await openai_client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant_id, max_completion_tokens=10
        )
    assert bad.value.param == "max_completion_tokens"
    with pytest.raises(openai.BadRequestError) as choice:
        await openai_client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant_id,
            tool_choice={"type": "function"},
        )
    assert choice.value.status_code == 400
    with pytest.raises(openai.BadRequestError) as include:
        await openai_client.beta.threads.runs.create(
            thread_id=thread.id,
            assistant_id=assistant_id,
            include=["step_details.nothing"],  # type: ignore[list-item]
        )
    assert include.value.param == "include"


async def test_steps_with_include_and_forced_tool_choice(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client, tools=[LOOKUP])
    run = await openai_client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "plain words"}]},
        tool_choice="none",
        poll_interval_ms=50,
    )
    assert run.tool_choice == "none"
    steps = await openai_client.beta.threads.runs.steps.list(
        run.id,
        thread_id=run.thread_id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
        order="asc",
    )
    assert [s.step_details.type for s in steps.data] == ["message_creation"]
    assert steps.data[0].object == "thread.run.step"
    assert steps.data[0].metadata == {}


async def test_another_projects_runs_are_not_found(
    openai_client: AsyncOpenAI, other_openai: AsyncOpenAI
) -> None:
    assistant_id = await _assistant(openai_client)
    run = await openai_client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "mine"}]},
        poll_interval_ms=50,
    )
    thread_id = run.thread_id
    step_id = (
        (await openai_client.beta.threads.runs.steps.list(run.id, thread_id=thread_id)).data[0].id
    )
    theirs = other_openai.beta.threads
    attempts: list[Awaitable[object]] = [
        theirs.runs.retrieve(run.id, thread_id=thread_id),
        theirs.runs.list(thread_id),
        theirs.runs.update(run.id, thread_id=thread_id, metadata={"x": "y"}),
        theirs.runs.cancel(run.id, thread_id=thread_id),
        theirs.runs.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=[]),
        theirs.runs.steps.list(run.id, thread_id=thread_id),
        theirs.runs.steps.retrieve(step_id, thread_id=thread_id, run_id=run.id),
        theirs.runs.create(thread_id=thread_id, assistant_id=assistant_id),
    ]
    for attempt in attempts:
        with pytest.raises(openai.NotFoundError):
            await attempt
    other_assistant = await _assistant(other_openai)
    with pytest.raises(openai.NotFoundError):  # their assistant on my thread: my thread is unknown
        await theirs.runs.create(thread_id=thread_id, assistant_id=other_assistant)
    with pytest.raises(openai.NotFoundError):  # my assistant from their project: unknown
        await theirs.create_and_run(assistant_id=assistant_id)


async def test_rate_limit_is_a_429_with_retry_after(app: FastAPI, dev_key: str) -> None:
    settings: Settings = app.state.settings
    limited = create_app(settings.model_copy(update={"rate_limit": "2/minute"}))
    limited.state.authenticator = app.state.authenticator
    transport = httpx2.ASGITransport(app=limited)  # the SDK's own HTTP client library
    async with (
        httpx2.AsyncClient(transport=transport) as http,
        AsyncOpenAI(
            base_url="http://threadline.test/v1", api_key=dev_key, max_retries=0, http_client=http
        ) as sdk,
    ):
        await sdk.beta.assistants.list()
        await sdk.beta.assistants.list()
        with pytest.raises(openai.RateLimitError) as limited_error:
            await sdk.beta.assistants.list()
    assert limited_error.value.status_code == 429
    assert int(limited_error.value.response.headers["retry-after"]) >= 1


async def test_an_internal_failure_streams_an_error_event(
    openai_client: AsyncOpenAI, endpoint: Scripted
) -> None:
    # A lone UTF-16 surrogate cannot be stored: the run fails inside Threadline (see
    # test_subscriptions), which its stream tells as OpenAI's does: `error`, then failed.
    endpoint(Script(text="never stored", inject='{"choices": [{"delta": {"content": "\\ud800"}}]}'))
    assistant = await openai_client.beta.assistants.create(model="gpt-test")
    stream = await openai_client.beta.threads.create_and_run(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        stream=True,
    )
    events = [event async for event in stream]
    assert [e.event for e in events[-2:]] == ["error", "thread.run.failed"]
    error = events[-2].data
    assert error.code == "server_error"  # type: ignore[union-attr]
    assert error.message == "The run failed on an internal error."  # type: ignore[union-attr]
    assert events[-1].data.last_error.code == "server_error"  # type: ignore[union-attr]


async def test_file_search_steps_include_result_content_on_request(
    openai_client: AsyncOpenAI,
) -> None:
    text = "The lighthouse keeper lit the lamp at dusk every evening."
    store = await openai_client.vector_stores.create(name="notes")
    await openai_client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("keeper.txt", text.encode()), poll_interval_ms=50
    )
    assistant_id = await _assistant(
        openai_client,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    run = await openai_client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "/search lighthouse keeper"}]},
        poll_interval_ms=50,
    )
    assert run.status == "completed"
    steps = openai_client.beta.threads.runs.steps
    plain = (await steps.list(run.id, thread_id=run.thread_id, order="asc")).data
    assert [s.type for s in plain] == ["tool_calls", "message_creation"]
    call = plain[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search"
    result = call.file_search.results[0]  # type: ignore[union-attr,index]
    assert (result.file_name, result.content) == ("keeper.txt", None)
    assert 0 < result.score <= 1
    detailed = await steps.retrieve(
        plain[0].id,
        thread_id=run.thread_id,
        run_id=run.id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    found = detailed.step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr,index]
    assert found.content is not None
    assert [(c.type, c.text) for c in found.content] == [("text", text)]


async def test_code_interpreter_steps_and_their_stream(openai_client: AsyncOpenAI) -> None:
    assistant_id = await _assistant(openai_client, tools=[{"type": "code_interpreter"}])
    recorder = Recorder()
    async with openai_client.beta.threads.create_and_run_stream(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "/python print(6 * 7)"}]},
        event_handler=recorder,
    ) as stream:
        await stream.until_done()
        run = await stream.get_final_run()
    assert run.status == "completed"
    assert "thread.run.step.delta" in recorder.events
    # The SDK tells a call done at its step's end and again at the run's: one call here.
    [streamed] = list({call.id: call for call in recorder.tool_calls}.values())
    assert streamed.type == "code_interpreter"
    steps = await openai_client.beta.threads.runs.steps.list(
        run.id, thread_id=run.thread_id, order="asc"
    )
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "code_interpreter"
    assert call.code_interpreter.input == "print(6 * 7)"  # type: ignore[union-attr]
    outputs = call.code_interpreter.outputs  # type: ignore[union-attr]
    assert [(o.type, o.logs) for o in outputs] == [("logs", "42\n")]  # type: ignore[union-attr]
    assert streamed.id == call.id  # as the SDK put it together from the deltas
    told = streamed.code_interpreter.outputs
    assert [(o.type, o.logs) for o in told] == [("logs", "42\n")]  # type: ignore[union-attr]
