"""The OpenAI-compatible provider against a real OpenAI-compatible server over real HTTP."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

import pytest
from openai import AsyncOpenAI

from app.processes import free_port
from engine.providers.base import (
    ChatRequest,
    Finish,
    ProviderError,
    ProviderEvent,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from engine.providers.openai_compatible import OpenAICompatibleProvider
from tests.openai_server import OpenAICompatibleServer, Script, ToolCall

KEY = "sk-test-4f9c2e7a1b"
REQUEST = ChatRequest(model="gpt-test", messages=[{"role": "user", "content": "Hi"}])
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@asynccontextmanager
async def serving(
    script: Script, *, max_retries: int = 0, timeout: float = 10.0, api_key: str | None = KEY
) -> AsyncIterator[tuple[OpenAICompatibleServer, OpenAICompatibleProvider]]:
    async with OpenAICompatibleServer(script) as server:
        provider = OpenAICompatibleProvider(
            server.base_url, api_key, max_retries=max_retries, timeout=timeout
        )
        try:
            yield server, provider
        finally:
            await provider.aclose()


async def collect(
    provider: OpenAICompatibleProvider, request: ChatRequest = REQUEST
) -> list[ProviderEvent]:
    async with aclosing(provider.stream(request)) as events:
        return [event async for event in events]


async def failure(provider: OpenAICompatibleProvider) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await collect(provider)
    return raised.value


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


async def test_text_arrives_word_by_word() -> None:
    text = "The quick brown fox  jumps over the lazy dog. "
    async with serving(Script(text=text)) as (_, provider):
        events = await collect(provider)
    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert len(deltas) == 9  # one per word, and none for the role chunk's empty content
    assert text_of(events) == text
    assert not [event for event in events if isinstance(event, ToolCallDelta)]


async def test_a_tool_call_arrives_in_pieces() -> None:
    call = ToolCall("get_weather", json.dumps({"city": "Paris", "unit": "celsius"}))
    async with serving(Script(tool_calls=[call])) as (_, provider):
        events = await collect(provider)
    pieces = [event for event in events if isinstance(event, ToolCallDelta)]
    assert len(pieces) > 3
    assert pieces[0] == ToolCallDelta(index=0, id=call.id, name="get_weather", arguments="")
    assert all(piece.index == 0 and piece.id is None and piece.name is None for piece in pieces[1:])
    assert "".join(piece.arguments for piece in pieces) == call.arguments
    assert text_of(events) == ""


async def test_parallel_tool_calls_keep_their_index() -> None:
    calls = [
        ToolCall("get_weather", json.dumps({"city": "Paris"})),
        ToolCall("get_time", json.dumps({"timezone": "Europe/Lisbon", "format": "24h"})),
    ]
    async with serving(Script(text="Checking.", tool_calls=calls)) as (_, provider):
        events = await collect(provider)
    pieces = [event for event in events if isinstance(event, ToolCallDelta)]
    for index, call in enumerate(calls):
        own = [piece for piece in pieces if piece.index == index]
        assert [(piece.id, piece.name) for piece in own if piece.id] == [(call.id, call.name)]
        assert "".join(piece.arguments for piece in own) == call.arguments
    assert text_of(events) == "Checking."


async def test_a_refusal_arrives_as_refusal_deltas() -> None:
    async with serving(Script(refusal="I can't help with that.")) as (_, provider):
        events = await collect(provider)
    refusal = [event.text for event in events if isinstance(event, RefusalDelta)]
    assert len(refusal) == 5
    assert "".join(refusal) == "I can't help with that."
    assert text_of(events) == ""


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (Script(text="Done."), "stop"),
        (Script(tool_calls=[ToolCall("get_weather", "{}")]), "tool_calls"),
        (Script(text="Cut", finish_reason="length"), "length"),
        (Script(text="Withheld", finish_reason="content_filter"), "content_filter"),
    ],
)
async def test_the_finish_reason_arrives_once(script: Script, reason: str) -> None:
    async with serving(script) as (_, provider):
        events = await collect(provider)
    finishes = [event for event in events if isinstance(event, Finish)]
    assert finishes == [Finish(reason)]
    assert events.index(finishes[0]) == len(events) - 2  # after the deltas, before usage


async def test_usage_arrives_once_at_the_end() -> None:
    async with serving(Script(text="Hello there", usage=(31, 7))) as (server, provider):
        events = await collect(provider)
    assert [event for event in events if isinstance(event, Usage)] == [Usage(31, 7)]
    assert events[-1] == Usage(31, 7)
    assert server.requests[0].body["stream_options"] == {"include_usage": True}


async def test_running_usage_totals_give_one_usage() -> None:
    # vLLM's continuous usage stats put running totals on every chunk.
    running = '{"choices": [], "usage": {"prompt_tokens": 31, "completion_tokens": 1}}'
    async with serving(Script(text="Hello there", usage=(31, 7), inject=running)) as (_, provider):
        events = await collect(provider)
    assert [event for event in events if isinstance(event, Usage)] == [Usage(31, 7)]


async def test_request_fields_are_forwarded() -> None:
    request = ChatRequest(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=64,
        response_format={"type": "json_object"},
        reasoning_effort="high",
    )
    async with serving(Script(text="{}")) as (server, provider):
        await collect(provider, request)
    body = server.requests[0].body
    assert body == {
        "model": "gpt-test",
        "messages": request.messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 64,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "high",
    }
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_unset_fields_are_left_out() -> None:
    # No tools: no `parallel_tool_calls` either. No key: a placeholder for keyless servers.
    async with serving(Script(text="Hi"), api_key=None) as (server, provider):
        await collect(provider)
    assert set(server.requests[0].body) == {"model", "messages", "stream", "stream_options"}
    assert server.requests[0].headers["authorization"] == "Bearer unused"


async def test_rate_limits_are_retried() -> None:
    # An injected client, as the engine's tests may pass; the SDK does the retrying.
    script = Script(text="At last", fail_with=[429, 429])
    async with (
        OpenAICompatibleServer(script) as server,
        AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=2) as client,
    ):
        events = await collect(OpenAICompatibleProvider(server.base_url, client=client))
    assert text_of(events) == "At last"
    assert len(server.requests) == 3
    assert [received.headers["x-stainless-retry-count"] for received in server.requests] == [
        "0",
        "1",
        "2",
    ]


async def test_rate_limited_past_the_retries() -> None:
    async with serving(Script(fail_with=[429] * 10), max_retries=2) as (server, provider):
        error = await failure(provider)
    assert error.code == "rate_limit_exceeded"
    assert "429" in error.message
    assert len(server.requests) == 3


async def test_server_errors_past_the_retries() -> None:
    async with serving(Script(fail_with=[500] * 10), max_retries=2) as (server, provider):
        error = await failure(provider)
    assert error.code == "server_error"
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_prompt"),
        (404, "invalid_prompt"),
        (422, "invalid_prompt"),
        (401, "server_error"),
        (403, "server_error"),
    ],
)
async def test_client_errors_are_not_retried(status: int, code: str) -> None:
    async with serving(Script(fail_with=[status] * 10), max_retries=2) as (server, provider):
        error = await failure(provider)
    assert error.code == code
    assert str(status) in error.message
    assert len(server.requests) == 1


async def test_the_api_key_never_reaches_the_message() -> None:
    # The test server echoes the key it got in its 401 message.
    async with serving(Script(fail_with=[401])) as (_, provider):
        error = await failure(provider)
    assert "Incorrect API key provided" in error.message
    assert KEY not in error.message
    assert KEY not in str(error)


async def test_connection_refused() -> None:
    provider = OpenAICompatibleProvider(f"http://127.0.0.1:{free_port()}/v1", KEY, max_retries=0)
    try:
        error = await failure(provider)
    finally:
        await provider.aclose()
    assert error.code == "server_error"
    assert "Connection error" in error.message


async def test_a_stalled_stream_times_out() -> None:
    script = Script(text="Too slow", chunk_delay=2.0)
    async with serving(script, timeout=0.2) as (_, provider):
        started = time.monotonic()
        error = await failure(provider)
    assert error.code == "server_error"
    assert "timed out" in error.message
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("{not json", "malformed stream"),
        ('{"choices": [{"delta": {"content": 5}}]}', "choices.0.delta.content"),
        ('{"choices": [{"delta": {"tool_calls": [{"index": "first"}]}}]}', "tool_calls.0.index"),
        ('{"error": {"message": "the model crashed"}}', "the model crashed"),
    ],
)
async def test_a_malformed_stream_is_a_server_error(payload: str, expected: str) -> None:
    async with serving(Script(text="Hello there", inject=payload)) as (_, provider):
        error = await failure(provider)
    assert error.code == "server_error"
    assert expected in error.message


async def test_cancelling_the_consumer_closes_the_stream() -> None:
    script = Script(text="word " * 200, chunk_delay=0.05)
    async with serving(script) as (server, provider):
        received: list[ProviderEvent] = []
        first = asyncio.Event()

        async def consume() -> None:
            async for event in provider.stream(REQUEST):
                received.append(event)
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 5)
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1)
        assert time.monotonic() - cancelled < 1
        await asyncio.wait_for(server.disconnected.wait(), 1)
        assert len(received) < 20


async def test_leaving_the_loop_early_closes_the_stream() -> None:
    script = Script(text="word " * 200, chunk_delay=0.05)
    async with serving(script) as (server, provider):
        async with aclosing(provider.stream(REQUEST)) as events:
            async for _ in events:
                break
        await asyncio.wait_for(server.disconnected.wait(), 1)
