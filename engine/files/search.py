"""Search over vector stores: each store's chunks live in MongoDB; a process keeps an index
of a store in memory while the store's `revision` says it is fresh (design.md: a process may
cache, never own). Any number of processes can search the same stores."""

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy

from engine.files.filters import matches
from engine.files.ranking import LexicalIndex, normalise, top
from models import vector_stores as stores_db
from models.base import utcnow
from models.file import filenames
from models.vector_store import ChunkDocument

MAX_CACHED_STORES = 64
DEFAULT_MAX_RESULTS = 10


@dataclass(frozen=True)
class SearchRequest:
    store_ids: list[str]
    query: str
    max_num_results: int = DEFAULT_MAX_RESULTS
    score_threshold: float = 0.0
    filters: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Hit:
    vector_store_id: str
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreIndex:
    revision: int
    chunks: list[ChunkDocument]
    attributes: list[dict[str, Any]]  # the chunk's file's, one per chunk
    lexical: LexicalIndex


class IndexCache:
    """Per process: the most recently searched stores' indexes, rebuilt when stale."""

    def __init__(self, capacity: int = MAX_CACHED_STORES) -> None:
        self.capacity = capacity
        self.indexes: OrderedDict[str, StoreIndex] = OrderedDict()
        self.locks: dict[str, asyncio.Lock] = {}

    async def get(self, store_id: str) -> StoreIndex | None:
        revision = await stores_db.store_revision(store_id)
        if revision is None:
            return None
        cached = self.indexes.get(store_id)
        if cached is not None and cached.revision == revision:
            self.indexes.move_to_end(store_id)
            return cached
        async with self.locks.setdefault(store_id, asyncio.Lock()):
            cached = self.indexes.get(store_id)
            if cached is None or cached.revision != revision:
                # Read after the revision: if it changes meanwhile, the next search rebuilds.
                cached = await _build(store_id, revision)
                self.indexes[store_id] = cached
                while len(self.indexes) > self.capacity:
                    evicted, _ = self.indexes.popitem(last=False)
                    self.locks.pop(evicted, None)
            return cached


async def _build(store_id: str, revision: int) -> StoreIndex:
    files, chunks = await stores_db.searchable(store_id)
    by_file = {file.file_id: file.attributes for file in files}
    texts = [chunk.text for chunk in chunks]
    lexical = await asyncio.to_thread(LexicalIndex.build, texts)
    return StoreIndex(revision, chunks, [by_file[chunk.file_id] for chunk in chunks], lexical)


cache = IndexCache()


async def search_stores(project_id: str, request: SearchRequest) -> list[Hit]:
    """The best chunks across the stores, best first (scores in [0, 1])."""
    found: list[tuple[float, str, ChunkDocument, dict[str, Any]]] = []
    for store_id in request.store_ids:
        index = await cache.get(store_id)
        if index is None or not index.chunks:
            continue
        mask = None
        if request.filters is not None:
            mask = numpy.array([matches(request.filters, a) for a in index.attributes], dtype=bool)
        lexical = index.lexical
        scores = normalise(lexical.scores(request.query), lexical.ceiling(request.query))
        for position, score in top(scores, request.max_num_results, mask):
            if score > 0 and score >= request.score_threshold:
                chunk = index.chunks[position]
                found.append((score, store_id, chunk, index.attributes[position]))
    found.sort(key=lambda item: -item[0])
    best = found[: request.max_num_results]
    await stores_db.touch_stores(request.store_ids, utcnow())
    names = await filenames(project_id, {chunk.file_id for _, _, chunk, _ in best})
    return [
        Hit(store_id, chunk.file_id, names.get(chunk.file_id, ""), score, chunk.text, attributes)
        for score, store_id, chunk, attributes in best
    ]
