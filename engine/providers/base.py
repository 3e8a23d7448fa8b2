"""The one small interface every model provider implements.

A provider turns a chat request (OpenAI chat-completions shapes) into a stream of text, refusal
and tool-call deltas, then why the model stopped and what it used. It knows nothing of runs,
steps or the database.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ErrorCode = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]


@dataclass(frozen=True)
class ChatRequest:
    model: str
    # OpenAI chat messages: {"role": "system"|"user"|"assistant"|"tool", "content": …,
    # "tool_calls": […], "tool_call_id": …}
    messages: list[dict[str, Any]]
    # OpenAI chat tools: [{"type": "function", "function": {"name", "description", "parameters"}}]
    tools: list[dict[str, Any]] = field(default_factory=list)
    # "none" | "auto" | "required" | {"type": "function", "function": {"name": …}}
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = None
    # {"type": "text"} | {"type": "json_object"} | {"type": "json_schema", "json_schema": {…}}
    response_format: dict[str, Any] | None = None
    # "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max"; None: not sent
    reasoning_effort: str | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class RefusalDelta:
    """A piece of the model's refusal to answer (chat completions' `delta.refusal`)."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of one tool call; `id` and `name` come with its first piece."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Finish:
    """Why the model stopped, as chat completions' `finish_reason` says: "stop", "tool_calls",
    "length" (its token limit), "content_filter" (the rest was withheld), or another name."""

    reason: str


ProviderEvent = TextDelta | RefusalDelta | ToolCallDelta | Usage | Finish


class ProviderError(Exception):
    """The model could not answer; `code` becomes the run's `lastError.code`."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


class Provider(Protocol):
    def stream(self, request: ChatRequest) -> AsyncIterator[ProviderEvent]:
        """Yields deltas as the model produces them; raises ProviderError when it fails.

        Transient failures are retried inside the provider; cancelling the consuming task
        must stop the model's stream (close the connection) promptly.
        """
        ...
