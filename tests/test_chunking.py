"""Chunks map back to the text exactly, hold whole tokens and whole characters, and overlap by
about the asked number of tokens."""

import random
from itertools import pairwise

import pytest

from engine.files import chunking
from engine.files.chunking import Chunk, chunk_text
from engine.tokens import encoding

PROSE = " ".join(
    f"Sentence {number} talks about chunking, tokens and overlapping windows of text."
    for number in range(400)
)
# "Unicode" in Fraktur letters: astral-plane characters of 4 UTF-8 bytes.
FRAKTUR = "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522"
UNICODE = "".join(
    f"{number}: naïve café — 日本語のテキストを分割する 😀👍🏽🇫🇷 e\u0301 Ω≈ç√ {FRAKTUR} ﷺ\n"
    for number in range(150)
)


def token_byte_offsets(text: str) -> list[int]:
    """Byte offset of each token's start and of the end, computed token by token."""
    enc = encoding()
    offsets = [0]
    for token in enc.encode_ordinary(text):
        offsets.append(offsets[-1] + len(enc.decode_single_token_bytes(token)))
    return offsets


def assert_exact(text: str, chunks: list[Chunk], max_tokens: int) -> None:
    """Each chunk is `text[start:end]` and exactly the whole tokens it counts."""
    offsets = token_byte_offsets(text)
    position = {offset: index for index, offset in enumerate(offsets)}
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert 0 < chunk.tokens <= max_tokens
        first = position[len(text[: chunk.start].encode())]
        last = position[len(text[: chunk.end].encode())]
        assert last - first == chunk.tokens


def assert_covered(text: str, chunks: list[Chunk]) -> None:
    """Only whitespace is outside every chunk."""
    ends = [0, *(chunk.end for chunk in chunks)]
    starts = [*(chunk.start for chunk in chunks), len(text)]
    for end, start in zip(ends, starts, strict=True):
        assert not text[end:start].strip()


def overlap_tokens(text: str, earlier: Chunk, later: Chunk) -> int:
    return len(encoding().encode_ordinary(text[later.start : earlier.end]))


def test_ascii_chunks_map_back_and_overlap() -> None:
    chunks = chunk_text(PROSE, max_tokens=100, overlap_tokens=50)
    assert len(chunks) > 10
    assert_exact(PROSE, chunks, 100)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(PROSE)
    for earlier, later in pairwise(chunks):
        assert earlier.start < later.start < earlier.end
        assert abs(overlap_tokens(PROSE, earlier, later) - 50) <= 2
    assert all(chunk.tokens == 100 for chunk in chunks[:-1])


def test_auto_is_800_tokens_overlapping_by_400() -> None:
    text = PROSE * 4
    chunks = chunk_text(text)
    assert_exact(text, chunks, 800)
    assert chunks[0].tokens == 800
    assert abs(overlap_tokens(text, chunks[0], chunks[1]) - 400) <= 2
    assert chunks[-1].end == len(text)


def test_no_overlap_covers_the_text_once() -> None:
    chunks = chunk_text(PROSE, max_tokens=64, overlap_tokens=0)
    assert_exact(PROSE, chunks, 64)
    assert "".join(chunk.text for chunk in chunks) == PROSE
    assert all(a.end == b.start for a, b in pairwise(chunks))


@pytest.mark.parametrize(("max_tokens", "overlap"), [(100, 50), (37, 11), (5, 0), (4, 2)])
def test_multibyte_characters_are_never_split(max_tokens: int, overlap: int) -> None:
    # Emoji, flags, CJK, combining marks and astral letters take several tokens each, so many
    # token boundaries fall inside a character.
    data = UNICODE.encode()
    inside = [offset for offset in token_byte_offsets(UNICODE)[:-1] if data[offset] >> 6 == 2]
    assert len(inside) > 1000
    chunks = chunk_text(UNICODE, max_tokens, overlap)
    assert_exact(UNICODE, chunks, max_tokens)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(UNICODE)
    for earlier, later in pairwise(chunks):
        assert earlier.start < later.start <= earlier.end


def test_random_unicode_round_trips() -> None:
    alphabet = [
        "a",
        " ",
        "é",
        "e\u0301",
        "😀",
        "👍🏽",
        "日本",
        "語",
        "\n",
        "\U0001d518",
        "ß",
        "\u200d",
        "\t",
    ]
    rng = random.Random(7)
    for _ in range(60):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
        max_tokens = rng.randint(4, 60)
        overlap = rng.randint(0, max_tokens // 2)
        chunks = chunk_text(text, max_tokens, overlap)
        assert_exact(text, chunks, max_tokens)
        assert_covered(text, chunks)


def test_nothing_to_chunk() -> None:
    assert chunk_text("") == []
    assert chunk_text(" \n\t  \n") == []


def test_whitespace_only_chunks_are_left_out() -> None:
    text = "first words" + " \n" * 3000 + "last words"
    chunks = chunk_text(text, max_tokens=100, overlap_tokens=0)
    assert all(not chunk.text.isspace() for chunk in chunks)
    assert chunks[0].text.startswith("first words")
    assert chunks[-1].text.endswith("last words")
    assert_exact(text, chunks, 100)
    assert_covered(text, chunks)


def test_special_token_text_is_plain_text() -> None:
    text = "before <|endoftext|> after <|fim_prefix|> " * 30
    chunks = chunk_text(text, max_tokens=20, overlap_tokens=5)
    assert_exact(text, chunks, 20)
    assert "<|endoftext|>" in "".join(chunk.text for chunk in chunks)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (-5, 0), (100, 100), (100, -1)])
def test_nonsense_sizes_are_refused(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="tokens"):
        chunk_text("some text", max_tokens, overlap)


def test_long_text_is_encoded_in_pieces_with_the_same_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunking, "PARALLEL_FROM_CHARS", 2_000)
    monkeypatch.setattr(chunking, "PIECE_CHARS", 1_000)
    lines = [
        f"Line {number}: def handler_{number}(x):\n    return x ** {number}\n"
        for number in range(300)
    ]
    text = "".join(lines) + UNICODE
    assert len(chunking._split(text)) > 10
    assert chunking._encode(text).tolist() == encoding().encode_ordinary(text)
    assert_exact(text, chunk_text(text, 50, 20), 50)
