"""Ranking chunks for `file_search`: BM25 over one vector store's chunks, optional fusion with
dense (embedding) rankings, and OpenAI's attribute filters. Pure: no database, no I/O.

Text is analysed the same way for chunks and queries (`terms`): words are runs of letters and
digits; code identifiers are split (`get_scores`, `getScores`, `HTTPServer` → their parts, and
the whole identifier kept as one more term); CJK ideographs and kana count one term each (they
are written without spaces); words are NFKC-normalised and case-folded, a short English
stopword list is dropped, and the rest is Snowball-stemmed (English), so "running" finds "runs";
a word whose stem differs is also indexed as itself, so the very word asked ranks higher.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from typing import Any, Final, TypeVar

import numpy
import Stemmer
from numpy.typing import NDArray

# The attribute filters belong with ranking for callers; they live in their own module.
from engine.files.filters import matches, validate_filter

__all__ = [
    "LexicalIndex",
    "cosine_scores",
    "matches",
    "normalise",
    "reciprocal_rank_fusion",
    "terms",
    "top",
    "validate_filter",
]

Scores = NDArray[numpy.float32]
Ints = NDArray[numpy.int64]
Terms = tuple[str, ...]
Item = TypeVar("Item", str, bytes)

# Words as the text writes them: identifiers with underscores, and runs of CJK characters.
WORD = re.compile(r"\w+")
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = re.compile(f"[{CJK_RANGES}]")
CJK_PIECE = re.compile(f"[{CJK_RANGES}]|[^{CJK_RANGES}]+")
# The parts of an ASCII identifier: `HTTPServer2` → HTTP, Server, 2.
PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Lucene's English stopwords (bm25s's too). Common words outside it ("what", "how") cost
# little: their idf is low.
STOPWORDS: Final = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into"),
        *("is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then"),
        *("there", "these", "they", "this", "to", "was", "will", "with"),
    }
)
# Exact forms are indexed as a term of their own, after this mark (see `_expansions`).
EXACT = "="
# BM25's usual constants (Lucene's and Elasticsearch's defaults).
K1 = 1.2
B = 0.75


# --- Analysis ---------------------------------------------------------------------------------


@cache
def _stemmer() -> Any:
    # No cache of its own: each distinct word is stemmed once per call anyway.
    return Stemmer.Stemmer("english", 0)


def terms(text: str) -> list[str]:
    """The index terms of a text, in order (a word's own terms together)."""
    return list(chain.from_iterable(_terms_of_words(WORD.findall(_normal(text)))))


def _normal(text: str) -> str:
    """NFKC, so composed and decomposed accents, ligatures and full-width forms agree."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _terms_of_words(words: Sequence[str]) -> list[Terms]:
    """Each word's terms: those of its parts (`_expansions`), then the whole word, case-folded,
    when it has several parts."""
    folded = [[part.casefold() for part in _parts(word)] for word in words]
    expansions = _expansions({part for parts in folded for part in parts if _kept(part)})
    analysed: list[Terms] = []
    for word, parts in zip(words, folded, strict=True):
        if len(parts) <= 1:
            analysed.append(expansions.get(parts[0], ()) if parts else ())
            continue
        found = tuple(chain.from_iterable(expansions.get(part, ()) for part in parts))
        whole = word.casefold()
        analysed.append((*found, whole) if _kept(whole) else found)
    return analysed


def _expansions(parts: set[str]) -> dict[str, Terms]:
    """Each (kept, case-folded) part's terms: its stem, and the part itself as an exact-form
    term when the stem differs. Stems let "running" find "runs"; the exact forms rank a text
    that has the very words asked above one that has only their relatives (known-item
    questions in bench/retrieval_quality.py: recall@1 0.86 with stems alone, 0.87-0.89 so)."""
    distinct = list(parts)
    stems = _stemmer().stemWords(distinct)
    return {
        part: (stem,) if stem == part else (stem, EXACT + part)
        for part, stem in zip(distinct, stems, strict=True)
    }


def _parts(word: str) -> list[str]:
    """An identifier's parts (`get_scores`, `getScores`, `HTTPServer2`), CJK characters one
    each; a plain word is its only part."""
    if word.isascii():
        if word.isalpha() and (word.islower() or word.isupper() or word.istitle()):
            return [word]
        return PART.findall(word)
    if CJK.search(word):
        return [part for piece in CJK_PIECE.findall(word) for part in piece.split("_") if part]
    return [part for part in word.split("_") if part]


def _kept(part: str) -> bool:
    return part not in STOPWORDS and not (len(part) == 1 and part.isascii())


def _analyse(texts: Sequence[str]) -> tuple[Ints, Ints, dict[str, int]]:
    """Each text's terms as (text index, term id) pairs, and the vocabulary. Each distinct piece
    of text is analysed once; per occurrence there is only array work."""
    pieces, occurrences, per_text = _pieces(texts)
    analysed = _terms_of_pieces(pieces)
    per_piece = numpy.fromiter(map(len, analysed), dtype=numpy.int64, count=len(analysed))
    flat, vocabulary = _ids(list(chain.from_iterable(analysed)))
    firsts = numpy.cumsum(per_piece) - per_piece
    counts = per_piece[occurrences]
    ends = numpy.cumsum(counts)
    within = numpy.arange(ends[-1] if len(ends) else 0) - numpy.repeat(ends - counts, counts)
    term_ids = flat[numpy.repeat(firsts[occurrences], counts) + within]
    text_of_piece = numpy.repeat(numpy.arange(len(texts)), per_text)
    return numpy.repeat(text_of_piece, counts), term_ids, vocabulary


def _pieces(texts: Sequence[str]) -> tuple[list[bytes], Ints, Ints]:
    """The distinct word pieces of the texts, each occurrence's piece index, and how many
    occurrences each text has.

    Pieces are cut out of the UTF-8 bytes with `bytes.translate` and `split` (C speed; every
    non-ASCII byte counts as part of a word, `_terms_of_pieces` splits by Unicode rules later).
    The lists of all occurrences live only in here: the garbage collector would traverse them
    over and over while the (many, small) objects of the analysis are made."""
    found = [text.encode("utf-8").translate(_WORD_BYTES).split() for text in texts]
    per_text = numpy.fromiter(map(len, found), dtype=numpy.int64, count=len(found))
    occurrences, distinct = _ids(list(chain.from_iterable(found)))
    return list(distinct), occurrences, per_text


def _ids(items: list[Item]) -> tuple[Ints, dict[Item, int]]:
    """Each item's index among the distinct items, and those indices."""
    indices = {item: index for index, item in enumerate(dict.fromkeys(items))}
    ids = numpy.fromiter(map(indices.__getitem__, items), dtype=numpy.int64, count=len(items))
    return ids, indices


def _terms_of_pieces(pieces: list[bytes]) -> list[Terms]:
    """The terms of each piece cut out by `_WORD_BYTES` (an ASCII one is one word already)."""
    texts = [piece.decode("utf-8", errors="replace") for piece in pieces]
    split = [(text,) if text.isascii() else WORD.findall(_normal(text)) for text in texts]
    analysed = iter(_terms_of_words(list(chain.from_iterable(split))))
    return [
        next(analysed)
        if len(words) == 1
        else tuple(chain.from_iterable(next(analysed) for _ in words))
        for words in split
    ]


def _word_bytes() -> bytes:
    """A `bytes.translate` table: ASCII letters, digits, `_` and non-ASCII bytes kept, every
    other byte a space."""
    kept = {*b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", *range(128, 256)}
    return bytes(byte if byte in kept else ord(" ") for byte in range(256))


_WORD_BYTES: Final = _word_bytes()


# --- BM25 -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LexicalIndex:
    """BM25, Lucene's variant, over a fixed list of texts (the chunks of one vector store).

    Every (term, text) weight idf · tf / (tf + k1 · (1 - b + b · len / average len)), with
    idf = ln(1 + (N - df + 0.5) / (df + 0.5)), is computed at build time and kept term by term
    (postings), so a query's scores are one `bincount` over its terms' postings. The scores are
    bm25s's (`method="lucene"`, same k1 and b) to float precision; bm25s itself is not used: its
    indexer loops over documents in Python and took longer than all the rest for 10,000
    chunks."""

    vocabulary: dict[str, int]
    idf: Scores  # per term
    starts: Ints  # term t's postings are [starts[t], starts[t + 1])
    texts: NDArray[numpy.int32]  # postings: text index ...
    weights: Scores  # ... and its BM25 weight for the term
    size: int

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        size = len(texts)
        text_ids, term_ids, vocabulary = _analyse(texts)
        # One key per (term, text), term-major: sorted keys are the postings, in order.
        keys, counts = numpy.unique(term_ids * max(size, 1) + text_ids, return_counts=True)
        terms_of, texts_of = numpy.divmod(keys, max(size, 1))
        lengths = numpy.bincount(text_ids, minlength=size).astype(numpy.float64)
        average = max(float(lengths.mean()) if size else 0.0, 1.0)
        holding = numpy.bincount(terms_of, minlength=len(vocabulary)).astype(numpy.float64)
        idf = numpy.log1p((size - holding + 0.5) / (holding + 0.5))
        norms = K1 * (1 - B + B * lengths / average)
        weights = idf[terms_of] * counts / (counts + norms[texts_of])
        starts = numpy.concatenate(([0], numpy.cumsum(holding))).astype(numpy.int64)
        return cls(
            vocabulary,
            idf.astype(numpy.float32),
            starts,
            texts_of.astype(numpy.int32),
            weights.astype(numpy.float32),
            size,
        )

    def __len__(self) -> int:
        return self.size

    def query_terms(self, query: str) -> list[int]:
        """The ids of the query's distinct terms that some text has (a repeated word counts
        once; words no text has cannot change any ranking)."""
        found = (self.vocabulary.get(term) for term in terms(query))
        return list(dict.fromkeys(term for term in found if term is not None))

    def scores(self, query: str) -> Scores:
        """One BM25 score per text, 0 where no query term occurs."""
        ids = self.query_terms(query)
        if not ids:
            return numpy.zeros(self.size, dtype=numpy.float32)
        spans = [slice(self.starts[term], self.starts[term + 1]) for term in ids]
        texts = numpy.concatenate([self.texts[span] for span in spans])
        weights = numpy.concatenate([self.weights[span] for span in spans])
        summed = numpy.bincount(texts, weights=weights, minlength=self.size)
        return summed.astype(numpy.float32)

    def ceiling(self, query: str) -> float:
        """The best score any text could reach for `query`: each known term's idf (a term's
        weight tends to its idf as its count in a text grows)."""
        return float(self.idf[self.query_terms(query)].sum())


def normalise(scores: Scores, ceiling: float) -> Scores:
    """BM25 scores as OpenAI's 0..1 search scores: the share of `ceiling`, the best score
    possible for this query (`LexicalIndex.ceiling`), which every score stays below.

    Linear, so the order is kept, and comparable across queries: 1 would be a chunk holding
    every known query term very often, 0 one holding none. A chunk of average length that has
    each query term once scores 1 / (1 + k1) ≈ 0.45; one with only some of the terms, less
    (their share of the query's idf). So `ranking_options.score_threshold` means "at least
    this share of the best possible match", whatever the query's length or words."""
    if ceiling <= 0 or len(scores) == 0:
        return numpy.zeros(len(scores), dtype=numpy.float32)
    shares: Scores = numpy.clip(scores / numpy.float32(ceiling), 0.0, 1.0).astype(numpy.float32)
    return shares


def top(
    scores: Scores, k: int, mask: NDArray[numpy.bool_] | None = None, floor: float = 0.0
) -> list[tuple[int, float]]:
    """The `k` best (index, score) pairs, best first, ties in index order, among scores above
    `floor` (a BM25 score of 0 matched nothing: never a result) and where `mask` is true."""
    if k <= 0:
        return []
    allowed = scores > floor
    if mask is not None:
        allowed &= mask
    candidates = numpy.flatnonzero(allowed)
    if len(candidates) > k:
        # Keep every candidate tied with the k-th best, so ties are settled by index below.
        kth = numpy.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]
    order = numpy.lexsort((candidates, -scores[candidates]))[:k]
    return [(int(index), float(scores[index])) for index in candidates[order]]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = 60
) -> list[tuple[int, float]]:
    """Rankings (ids, best first) fused: each id scores Σ 1 / (k + rank), rank from 1, over
    the rankings it is in (a repeat within one ranking counts once). Best first, ties by id.
    The most a fused score can be is len(rankings) / (k + 1)."""
    if k < 0:
        raise ValueError(f"k must not be negative, not {k}")
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def cosine_scores(matrix: NDArray[numpy.floating[Any]], query_vector: NDArray[Any]) -> Scores:
    """Cosine similarity of each row of `matrix` (one embedding per chunk) with the query's
    embedding, in [-1, 1]; 0 for a zero vector on either side."""
    rows = numpy.asarray(matrix, dtype=numpy.float32)
    query = numpy.asarray(query_vector, dtype=numpy.float32)
    if rows.ndim != 2 or query.ndim != 1 or rows.shape[1] != query.shape[0]:
        raise ValueError(f"cannot compare embeddings shaped {rows.shape} with {query.shape}")
    norms = numpy.linalg.norm(rows, axis=1) * numpy.linalg.norm(query)
    dots = rows @ query
    similarity: Scores = numpy.divide(
        dots, norms, out=numpy.zeros_like(dots), where=norms > 0
    ).astype(numpy.float32)
    return numpy.clip(similarity, -1.0, 1.0)
