"""Real token counts that work offline, with the model family's own tokenizer.

`for_model` picks the tokenizer a model name implies (the catalog may say otherwise);
`count`, `count_message` and `count_messages` take its name, cl100k_base when left out.
"""

from functools import cache
from typing import Any

import tiktoken
from tiktoken.model import encoding_name_for_model

from engine.encodings import TokenizerName, load

DEFAULT: TokenizerName = "cl100k_base"
# OpenAI's chat format adds a few tokens per message and per reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


def for_model(model: str) -> TokenizerName:
    """o200k_base for the families tiktoken's table gives it (GPT-4o, GPT-4.1, GPT-4.5, GPT-5,
    o1/o3/o4, gpt-oss), also behind a prefix such as `openai/`; cl100k_base for every other."""
    try:
        name = encoding_name_for_model(model.rsplit("/", 1)[-1])
    except KeyError:
        return DEFAULT
    # o200k_harmony (gpt-oss) is o200k_base plus special tokens, which are counted as text.
    return "o200k_base" if name.startswith("o200k") else DEFAULT


@cache
def encoding(name: TokenizerName = DEFAULT) -> tiktoken.Encoding:
    return load(name)


def count(text: str, tokenizer: TokenizerName = DEFAULT) -> int:
    return len(encoding(tokenizer).encode(text, disallowed_special=()))


def count_message(message: dict[str, Any], tokenizer: TokenizerName = DEFAULT) -> int:
    total = TOKENS_PER_MESSAGE + count(str(message.get("content") or ""), tokenizer)
    for call in message.get("tool_calls") or []:
        function = call["function"]
        total += count(function["name"], tokenizer) + count(function["arguments"], tokenizer)
    return total


def count_messages(messages: list[dict[str, Any]], tokenizer: TokenizerName = DEFAULT) -> int:
    return sum(count_message(message, tokenizer) for message in messages) + TOKENS_PER_REPLY
