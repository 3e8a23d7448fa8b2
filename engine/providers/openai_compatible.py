"""The provider for any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama,
llama.cpp server, LM Studio…), through the official `openai` SDK.

The SDK retries connection errors, timeouts, 408, 409, 429 and 5xx with exponential backoff
(honouring `retry-after-ms` / `retry-after`) before raising; this module maps what it raises.
Nothing is retried once the stream has begun: deltas may already have been handed on.
Some servers (old llama.cpp, some Ollama versions) reject `stream_options` or
`parallel_tool_calls`; there is no fallback for them yet.
"""

from collections.abc import AsyncGenerator, Iterator
from typing import TypeVar, cast

import openai
from openai import AsyncOpenAI, Omit, omit
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolUnionParam,
)
from openai.types.chat.completion_create_params import ResponseFormat
from openai.types.shared_params import ReasoningEffort
from pydantic import BaseModel, ValidationError

from engine.providers.base import (
    ChatRequest,
    ErrorCode,
    Finish,
    ProviderError,
    ProviderEvent,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)

_T = TypeVar("_T")
# Ollama and llama.cpp check no key, but the SDK refuses to start without one.
NO_KEY = "unused"


class OpenAICompatibleProvider:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        max_retries: int = 3,
        timeout: float = 600.0,
        client: AsyncOpenAI | None = None,
    ) -> None:
        """`timeout` bounds connecting and each wait for the next bytes, not the whole answer.
        An injected `client` (tests) brings its own settings and stays the caller's to close."""
        self._api_key = api_key
        self._owns_client = client is None
        self._client = client or AsyncOpenAI(
            base_url=base_url, api_key=api_key or NO_KEY, max_retries=max_retries, timeout=timeout
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        """Consume it with `contextlib.aclosing` so that leaving early closes the HTTP stream."""
        usage: _Usage | None = None
        tool_choice = cast("ChatCompletionToolChoiceOptionParam | None", request.tool_choice)
        response_format = cast("ResponseFormat | None", request.response_format)
        reasoning_effort = cast("ReasoningEffort", request.reasoning_effort)
        try:
            stream = await self._client.chat.completions.create(
                model=request.model,
                messages=cast("list[ChatCompletionMessageParam]", request.messages),
                stream=True,
                stream_options={"include_usage": True},
                tools=cast("list[ChatCompletionToolUnionParam]", request.tools) or omit,
                tool_choice=_given(tool_choice),
                parallel_tool_calls=request.parallel_tool_calls if request.tools else omit,
                temperature=_given(request.temperature),
                top_p=_given(request.top_p),
                max_completion_tokens=_given(request.max_completion_tokens),
                response_format=_given(response_format),
                reasoning_effort=_given(reasoning_effort),
            )
            # Closes the HTTP response however the loop ends, cancellation included, so the
            # server sees the disconnect and stops generating.
            async with stream:
                async for chunk in stream:
                    parsed = _Chunk.model_validate(chunk)
                    usage = parsed.usage or usage
                    for event in _events(parsed):
                        yield event
        except openai.APIError as error:
            raise ProviderError(_code(error), self._redact(describe(error))) from error
        except ValueError as error:  # invalid JSON or UTF-8 in the stream, or a misshapen chunk
            raise ProviderError("server_error", self._redact(_malformed(error))) from error
        # Some servers (vLLM's continuous usage stats) report running totals on every chunk.
        if usage is not None:
            yield Usage(usage.prompt_tokens, usage.completion_tokens)

    def _redact(self, message: str) -> str:
        # The SDK never puts the key in a message, but a server may echo it in its error text.
        return message.replace(self._api_key, "***") if self._api_key else message


# The SDK builds chunks without validating them (any JSON object becomes a "chunk"), so these
# models check the fields used here: a misshapen chunk is a server error, not a TypeError later.
class _Function(BaseModel, from_attributes=True):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(BaseModel, from_attributes=True):
    index: int | None = None  # old Ollama versions leave it out
    id: str | None = None
    function: _Function | None = None


class _Delta(BaseModel, from_attributes=True):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(BaseModel, from_attributes=True):
    delta: _Delta | None = None  # Azure's content-filter chunks may carry none
    finish_reason: str | None = None


class _Usage(BaseModel, from_attributes=True):
    prompt_tokens: int
    completion_tokens: int


class _Chunk(BaseModel, from_attributes=True):
    choices: list[_Choice] | None = None
    usage: _Usage | None = None


def _events(chunk: _Chunk) -> Iterator[ProviderEvent]:
    for choice in chunk.choices or []:
        delta = choice.delta or _Delta()
        if delta.content:
            yield TextDelta(delta.content)
        if delta.refusal:
            yield RefusalDelta(delta.refusal)
        for position, call in enumerate(delta.tool_calls or []):
            function = call.function or _Function()
            yield ToolCallDelta(
                index=position if call.index is None else call.index,
                id=call.id,
                name=function.name,
                arguments=function.arguments or "",
            )
        if choice.finish_reason:
            yield Finish(choice.finish_reason)


def _given(value: _T | None) -> _T | Omit:
    """Leaves a parameter out rather than sending null, which some servers reject."""
    return omit if value is None else value


def _code(error: openai.APIError) -> ErrorCode:
    if isinstance(error, openai.RateLimitError):
        return "rate_limit_exceeded"
    if isinstance(
        error, openai.BadRequestError | openai.UnprocessableEntityError | openai.NotFoundError
    ):
        return "invalid_prompt"
    # Authentication, other statuses, connection errors, timeouts, errors sent mid-stream.
    return "server_error"


def describe(error: openai.APIError) -> str:
    # "Connection error." alone does not say what went wrong; its cause may.
    cause = str(error.__cause__ or "") if isinstance(error, openai.APIConnectionError) else ""
    return f"{error.message} ({cause})" if cause else error.message


def _malformed(error: ValueError) -> str:
    if isinstance(error, ValidationError):  # its first problem, without pydantic's links
        first = error.errors(include_url=False)[0]
        error = ValueError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
    return f"malformed stream from the model server: {error}"
