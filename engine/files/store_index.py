"""Each vector store's index as a process keeps it while the store's `revision` says it is
fresh, and one store's ranking for a search: how they are built, compared and fused is
engine/files/search.py's docstring."""

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy
import structlog
from numpy.typing import NDArray

from engine.files.embeddings import Embedder, EmbeddingsFailed
from engine.files.filters import matches
from engine.files.ranking import (
    LexicalIndex,
    Scores,
    cosine_scores,
    normalise,
    reciprocal_rank_fusion,
    top,
)
from engine.files.search import SearchRequest
from models import vector_stores as stores_db
from models.vector_store import ChunkDocument

log = structlog.get_logger(__name__)
MAX_CACHED_STORES = 64
# Each ranking's best this many (or max_num_results, if more) are fused.
FUSION_DEPTH = 50
RRF_K = 60

Mask = NDArray[numpy.bool_]


@dataclass(frozen=True)
class DenseIndex:
    """The vectors of the chunks one model embedded, one float32 row per chunk."""

    model: str
    matrix: NDArray[numpy.float32]
    positions: NDArray[numpy.int64]  # each row's chunk, as its position in `StoreIndex.chunks`


@dataclass(frozen=True)
class StoreIndex:
    revision: int
    chunks: list[ChunkDocument]  # without their vectors: those are in `dense`
    attributes: list[dict[str, Any]]  # the chunk's file's, one per chunk
    lexical: LexicalIndex
    dense: DenseIndex | None = None  # None: no chunk of the configured model's (or no model)


Key = tuple[str, str | None]  # a store, and the embeddings model its index compares with


class IndexCache:
    """Per process: the most recently searched stores' indexes, rebuilt when stale. An index
    is made for one embeddings model (or none), so engines configured differently in one
    process (tests) never share vectors."""

    def __init__(self, capacity: int = MAX_CACHED_STORES) -> None:
        self.capacity = capacity
        self.indexes: OrderedDict[Key, StoreIndex] = OrderedDict()
        self.locks: dict[Key, asyncio.Lock] = {}

    async def get(self, store_id: str, model: str | None = None) -> StoreIndex | None:
        revision = await stores_db.store_revision(store_id)
        if revision is None:
            return None
        key = (store_id, model)
        cached = self.indexes.get(key)
        if cached is not None and cached.revision == revision:
            self.indexes.move_to_end(key)
            return cached
        async with self.locks.setdefault(key, asyncio.Lock()):
            cached = self.indexes.get(key)
            if cached is None or cached.revision != revision:
                # Read after the revision: if it changes meanwhile, the next search rebuilds.
                cached = await _build(store_id, revision, model)
                self.indexes[key] = cached
                while len(self.indexes) > self.capacity:
                    evicted, _ = self.indexes.popitem(last=False)
                    self.locks.pop(evicted, None)
            return cached


async def _build(store_id: str, revision: int, model: str | None) -> StoreIndex:
    files, chunks = await stores_db.searchable(store_id, model)
    by_file = {file.file_id: file.attributes for file in files}
    texts = [chunk.text for chunk in chunks]
    lexical = await asyncio.to_thread(LexicalIndex.build, texts)
    dense = await asyncio.to_thread(_dense_index, chunks, model) if model else None
    attributes = [by_file[chunk.file_id] for chunk in chunks]
    return StoreIndex(revision, chunks, attributes, lexical, dense)


def _dense_index(chunks: list[ChunkDocument], model: str) -> DenseIndex | None:
    """The chunks' vectors as one float32 matrix, taken off the chunks: as lists of Python
    floats they would take eight times the memory in the cache. Only `model`'s chunks carry
    vectors here (`stores_db.searchable`); rows of another length than the first are left to
    the lexical side."""
    embedded = [(position, chunk.embedding) for position, chunk in enumerate(chunks)]
    found = [(position, vector) for position, vector in embedded if vector]
    for chunk in chunks:
        chunk.embedding = None
    if not found:
        return None
    width = len(found[0][1])
    kept = [(position, vector) for position, vector in found if len(vector) == width]
    matrix = numpy.array([vector for _, vector in kept], dtype=numpy.float32)
    positions = numpy.array([position for position, _ in kept], dtype=numpy.int64)
    return DenseIndex(model, matrix, positions)


cache = IndexCache()


class QueryVector:
    """The query's embedding, asked for at most once per search, and only if a store needs it."""

    def __init__(self, query: str, embedder: Embedder | None) -> None:
        self.query = query
        self.embedder = embedder
        self._asked = False
        self._vector: NDArray[numpy.float32] | None = None

    async def get(self) -> NDArray[numpy.float32] | None:
        if not self._asked and self.embedder is not None and self.query.strip():
            self._asked = True
            self._vector = await _embed_query(self.embedder, self.query)
        return self._vector


async def _embed_query(embedder: Embedder, query: str) -> NDArray[numpy.float32] | None:
    try:
        [vector] = await embedder.embed([query])
    except EmbeddingsFailed as failure:
        log.warning("search_query_not_embedded", error=failure.message)
        return None
    return numpy.array(vector, dtype=numpy.float32)


async def rank(
    index: StoreIndex, request: SearchRequest, query: QueryVector
) -> list[tuple[int, float]]:
    """One store's best (chunk position, score) pairs for the request, best first."""
    mask = _mask(index, request.filters)
    lexical = index.lexical.scores(request.query)
    dense = await _dense_scores(index, query)
    if dense is None:
        ceiling = index.lexical.ceiling(request.query)
        return _lexical(normalise(lexical, ceiling), mask, request)
    return _fused([lexical, dense], mask, request)


def _mask(index: StoreIndex, filters: Mapping[str, Any] | None) -> Mask | None:
    """The chunks whose file's attributes pass the filters (None: no filters)."""
    if filters is None:
        return None
    return numpy.array([matches(filters, found) for found in index.attributes], dtype=bool)


async def _dense_scores(index: StoreIndex, query: QueryVector) -> Scores | None:
    """Each chunk's cosine similarity to the query (0 for chunks without a vector), or None
    when there is no dense side for this store and query."""
    if index.dense is None:
        return None
    vector = await query.get()
    if vector is None:
        return None
    if vector.shape[0] != index.dense.matrix.shape[1]:
        log.warning(
            "search_embedding_mismatch",
            model=index.dense.model,
            query=vector.shape[0],
            chunks=index.dense.matrix.shape[1],
        )
        return None
    scores = numpy.zeros(len(index.chunks), dtype=numpy.float32)
    scores[index.dense.positions] = cosine_scores(index.dense.matrix, vector)
    return scores


def _lexical(shares: Scores, mask: Mask | None, request: SearchRequest) -> list[tuple[int, float]]:
    found = top(shares, request.max_num_results, mask)
    return [(position, score) for position, score in found if score >= request.score_threshold]


def _fused(
    rankings: list[Scores], mask: Mask | None, request: SearchRequest
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of each ranking's best, as a share of the best fused score."""
    depth = max(request.max_num_results, FUSION_DEPTH)
    ranked = [[position for position, _ in top(scores, depth, mask)] for scores in rankings]
    best_possible = len(rankings) / (RRF_K + 1)
    fused = reciprocal_rank_fusion(ranked, RRF_K)[: request.max_num_results]
    shares = [(position, min(1.0, score / best_possible)) for position, score in fused]
    return [(position, share) for position, share in shares if share >= request.score_threshold]
