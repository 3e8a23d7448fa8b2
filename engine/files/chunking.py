"""Token-sized, overlapping chunks of a document's text, as OpenAI's vector stores make them.

`auto` is 800-token chunks overlapping by 400; `static` chooses both (its bounds are checked by
the caller's input validation). Tokens are the default tokenizer's (cl100k_base).

The text is encoded once. Each token's byte length comes from a per-vocabulary table, so byte
offsets are one cumulative sum; a chunk boundary is moved (by a token or two) off any token
boundary that falls inside a multibyte character, and byte offsets become character offsets by
counting UTF-8 continuation bytes. So `text[chunk.start:chunk.end] == chunk.text` always, and a
chunk is exactly the tokens it counts.
"""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from itertools import pairwise

import numpy
import tiktoken
from numpy.typing import NDArray

from engine.tokens import encoding

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
# Texts longer than this are encoded in pieces on threads (tiktoken releases the GIL).
PARALLEL_FROM_CHARS = 1_000_000
PIECE_CHARS = 1_000_000
ENCODING_THREADS = 2
# A newline after a non-space character, then an ASCII letter: both of OpenAI's split patterns
# end a piece at that newline and start the next at the letter, so encoding the two sides
# apart gives the same tokens as encoding them together.
SAFE_SPLIT = re.compile(r"(?<=\S\n)(?=[A-Za-z])")

Ints = NDArray[numpy.int64]


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int  # character offsets of `text` in the extracted document text
    end: int
    tokens: int


def chunk_text(
    text: str, max_tokens: int = AUTO_MAX_TOKENS, overlap_tokens: int = AUTO_OVERLAP_TOKENS
) -> list[Chunk]:
    """Chunks of at most `max_tokens` tokens, each starting `overlap_tokens` tokens before the
    previous one ended (a little more or less where a character spans tokens); the last one
    ends at the end of the text. Chunks of nothing but whitespace are left out. (Only a
    `max_tokens` under 4 can be exceeded: by a character that takes more tokens than that.)"""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be in [0, {max_tokens}), not {overlap_tokens}")
    if not text or text.isspace():
        return []
    data = text.encode("utf-8")
    offsets = _byte_offsets(_encode(text))
    if text.isascii():
        splittable = numpy.ones(len(offsets), dtype=bool)
    else:
        splittable = _character_starts(data, offsets)
    spans = _token_spans(len(offsets) - 1, splittable, max_tokens, overlap_tokens)
    token_bounds = numpy.array(spans, dtype=numpy.int64).reshape(-1)
    chars = _char_offsets(data, offsets[token_bounds], text.isascii()).reshape(-1, 2)
    chunks = []
    for (first, last), (start, end) in zip(spans, chars.tolist(), strict=True):
        piece = text[start:end]
        if not piece.isspace():
            chunks.append(Chunk(piece, start, end, last - first))
    return chunks


def _encode(text: str) -> NDArray[numpy.uint32]:
    """The text's tokens; a long text in pieces split only where tokens cannot straddle."""
    enc = encoding()
    if len(text) < PARALLEL_FROM_CHARS:
        return enc.encode_to_numpy(text, disallowed_special=())
    with ThreadPoolExecutor(ENCODING_THREADS) as pool:
        encoded = pool.map(partial(enc.encode_to_numpy, disallowed_special=()), _split(text))
        return numpy.concatenate(list(encoded))


def _split(text: str) -> list[str]:
    """`text` in pieces of about PIECE_CHARS, cut only at SAFE_SPLIT points."""
    pieces = []
    start = 0
    while len(text) - start > PIECE_CHARS:
        cut = SAFE_SPLIT.search(text, start + PIECE_CHARS)
        if cut is None:
            break
        pieces.append(text[start : cut.start()])
        start = cut.start()
    pieces.append(text[start:])
    return pieces


@cache
def _token_lengths(enc: tiktoken.Encoding) -> Ints:
    """Byte length of every token id of `enc` (0 for ids that are no token)."""
    lengths = numpy.zeros(enc.n_vocab, dtype=numpy.int64)
    for token in range(enc.n_vocab):
        try:
            lengths[token] = len(enc.decode_single_token_bytes(token))
        except KeyError:
            continue
    return lengths


def _byte_offsets(tokens: NDArray[numpy.uint32]) -> Ints:
    """Byte offset of each token's start, and of the end (one more entry than tokens)."""
    offsets = numpy.zeros(len(tokens) + 1, dtype=numpy.int64)
    numpy.cumsum(_token_lengths(encoding())[tokens], out=offsets[1:])
    return offsets


def _character_starts(data: bytes, offsets: Ints) -> NDArray[numpy.bool_]:
    """For each token offset, whether a character starts there (the end counts as one)."""
    raw = numpy.frombuffer(data, dtype=numpy.uint8)
    inside = offsets < len(raw)
    starts = numpy.ones(len(offsets), dtype=bool)
    starts[inside] = (raw[offsets[inside]] & 0xC0) != 0x80
    return starts


def _token_spans(
    count: int, splittable: NDArray[numpy.bool_], max_tokens: int, overlap_tokens: int
) -> list[tuple[int, int]]:
    """[first, last) token ranges of the chunks, every bound where a character starts."""
    spans: list[tuple[int, int]] = []
    first = 0
    while True:
        last = min(first + max_tokens, count)
        last = _snap(splittable, last, first + 1, count)
        spans.append((first, last))
        if last >= count:
            return spans
        following = max(last - overlap_tokens, first + 1)
        first = _snap(splittable, following, first + 1, last)


def _snap(splittable: NDArray[numpy.bool_], at: int, low: int, high: int) -> int:
    """The nearest splittable token index to `at` within [low, high], looking back first (a
    character is at most 4 bytes, so a few steps), forward if nothing is there."""
    if splittable[at]:
        return at
    for index in range(at - 1, max(low, at - 4) - 1, -1):
        if splittable[index]:
            return index
    for index in range(at + 1, min(high, at + 4) + 1):
        if splittable[index]:
            return index
    return high


def _char_offsets(data: bytes, byte_offsets: Ints, ascii_only: bool) -> Ints:
    """Character offsets of byte offsets that fall on character starts: a byte offset less the
    UTF-8 continuation bytes before it, counted between consecutive distinct offsets."""
    if ascii_only or len(byte_offsets) == 0:
        return byte_offsets
    raw = numpy.frombuffer(data, dtype=numpy.uint8)
    continuation = (raw & 0xC0) == 0x80
    distinct, inverse = numpy.unique(byte_offsets, return_inverse=True)
    bounds = [0, *distinct.tolist()]
    between = [numpy.count_nonzero(continuation[low:high]) for low, high in pairwise(bounds)]
    chars: Ints = (distinct - numpy.cumsum(between, dtype=numpy.int64))[inverse]
    return chars
