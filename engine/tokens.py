"""Real token counts that work offline, with the model family's own tokenizer.

`for_model` picks the tokenizer a model name implies (the catalog may say otherwise);
`count`, `count_message` and `count_messages` take its name, cl100k_base when left out.
Images cost what OpenAI's published formula says (`image_tokens`).
"""

import asyncio
import base64
import binascii
import io
import math
import threading
import warnings
from typing import Any

import tiktoken
from PIL import Image
from tiktoken.model import encoding_name_for_model

from engine.encodings import TokenizerName, load

DEFAULT: TokenizerName = "cl100k_base"
# OpenAI's chat format adds a few tokens per message and per reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
# OpenAI's image costs: a low-detail image, and each 512px tile of a high-detail one.
LOW_DETAIL_TOKENS = 85
TILE_TOKENS = 170
# An image whose size is not known (a URL, an unreadable header): a 1024x1024 image's cost.
UNKNOWN_SIZE_TOKENS = LOW_DETAIL_TOKENS + 4 * TILE_TOKENS
# How much of an image's start its size is read from. A multiple of 3, so that the same bytes
# are read from a file's first chunk and from the start of its base64 data URL.
IMAGE_HEAD_BYTES = 48 * 1024
IMAGE_FORMATS = ["PNG", "JPEG", "GIF", "WEBP"]  # what OpenAI's vision models take

_loaded: dict[TokenizerName, tiktoken.Encoding] = {}
_loading = threading.Lock()


def for_model(model: str) -> TokenizerName:
    """o200k_base for the families tiktoken's table gives it (GPT-4o, GPT-4.1, GPT-4.5, GPT-5,
    o1/o3/o4, gpt-oss), also behind a prefix such as `openai/`; cl100k_base for every other."""
    try:
        name = encoding_name_for_model(model.rsplit("/", 1)[-1])
    except KeyError:
        return DEFAULT
    # o200k_harmony (gpt-oss) is o200k_base plus special tokens, which are counted as text.
    return "o200k_base" if name.startswith("o200k") else DEFAULT


def encoding(name: TokenizerName = DEFAULT) -> tiktoken.Encoding:
    """Loaded once per process, by its first use: cl100k_base weighs ~40 MB, o200k_base ~70,
    so a process loads only those its runs use (and one that only serves, none)."""
    found = _loaded.get(name)
    if found is None:
        with _loading:  # one load, whichever thread asks first
            found = _loaded.get(name)
            if found is None:
                found = _loaded[name] = load(name)
    return found


async def ready(name: TokenizerName) -> None:
    """`name` loaded, off the event loop if it was not yet (0.1 to 0.3 s): a process's first run
    on a tokenizer does not hold up the others' streams."""
    if name not in _loaded:
        await asyncio.to_thread(encoding, name)


def count(text: str, tokenizer: TokenizerName = DEFAULT) -> int:
    return len(encoding(tokenizer).encode(text, disallowed_special=()))


def count_message(message: dict[str, Any], tokenizer: TokenizerName = DEFAULT) -> int:
    """A chat message: its text, or its content parts (text and images), and tool calls."""
    content = message.get("content")
    if isinstance(content, list):
        total = TOKENS_PER_MESSAGE + sum(_count_part(part, tokenizer) for part in content)
    else:
        total = TOKENS_PER_MESSAGE + count(str(content or ""), tokenizer)
    for call in message.get("tool_calls") or []:
        function = call["function"]
        total += count(function["name"], tokenizer) + count(function["arguments"], tokenizer)
    return total


def count_messages(messages: list[dict[str, Any]], tokenizer: TokenizerName = DEFAULT) -> int:
    return sum(count_message(message, tokenizer) for message in messages) + TOKENS_PER_REPLY


def _count_part(part: dict[str, Any], tokenizer: TokenizerName) -> int:
    if part.get("type") == "image_url":
        image = part["image_url"]
        detail = image.get("detail", "auto")
        return image_tokens(detail, None if detail == "low" else data_url_size(image["url"]))
    return count(str(part.get("text") or ""), tokenizer)


def image_tokens(detail: str, size: tuple[int, int] | None) -> int:
    """OpenAI's formula: low detail is a flat 85; high (and auto, counted as high) is 85 plus
    170 per 512px tile once the image is scaled to fit 2048x2048, then its shortest side
    to 768."""
    if detail == "low":
        return LOW_DETAIL_TOKENS
    if size is None:
        return UNKNOWN_SIZE_TOKENS
    width, height = float(size[0]), float(size[1])
    if max(width, height) > 2048:
        scale = 2048 / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return LOW_DETAIL_TOKENS + TILE_TOKENS * tiles


def image_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from an image's first bytes (its header), None when unreadable."""
    try:
        # Only the header is parsed; a size past Pillow's bomb limit is still just a size.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head), formats=IMAGE_FORMATS) as image:
                width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def data_url_size(url: str) -> tuple[int, int] | None:
    """An image's size from the start of its base64 data URL; None for any other URL."""
    if not url.startswith("data:"):
        return None
    _, _, data = url.partition(";base64,")
    try:
        head = base64.b64decode(data[: IMAGE_HEAD_BYTES // 3 * 4], validate=True)
    except (binascii.Error, ValueError):
        return None
    return image_size(head)
