"""Search over vector stores: each store's chunks live in MongoDB; a process keeps an index
of a store in memory while the store's `revision` says it is fresh (design.md: a process may
cache, never own). Any number of processes can search the same stores.

Without an embeddings model (THREADLINE_EMBEDDINGS_MODEL), or for a store none of whose chunks
that model embedded, ranking is BM25 alone, and a score is the chunk's share of the best BM25
score possible for the query (`ranking.normalise`).

With one, and chunks it embedded, the query is embedded once per search, and two rankings are
fused: BM25's and the chunks' cosine similarity to the query, each cut to its best
`FUSION_DEPTH` chunks (among those the attribute filters let through). Reciprocal rank fusion
gives a chunk Σ 1 / (RRF_K + rank) over the rankings it is in; the score returned is that sum's
share of the best possible, 2 / (RRF_K + 1), so first in both rankings scores 1, first in one
only 0.5, and (RRF_K = 60) tenth in both 0.87. The map is linear, so it keeps the fused order;
`score_threshold` filters on it. Scores of the two kinds are not on one scale: a search over
several stores may mix them. Chunks that another model embedded (the setting changed since)
are ranked lexically only, never compared with a vector of another model, until they are added
again. If the query cannot be embedded (the endpoint is down), the search is lexical, logged.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.files.embeddings import Embedder
from models import vector_stores as stores_db
from models.base import utcnow
from models.file import filenames

# The indexes and their ranking (numpy, ~12 MB in a process) are imported by a process's first
# search: a process that never searches does not carry them.
if TYPE_CHECKING:
    from engine.files.store_index import IndexCache, StoreIndex

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


class Searcher:
    """Search as this process runs it: the process's index cache, and the embeddings
    endpoint when one is configured (None: lexical only)."""

    def __init__(
        self, embedder: Embedder | None = None, indexes: "IndexCache | None" = None
    ) -> None:
        self.embedder = embedder
        self.model = embedder.model if embedder else None
        self.indexes = indexes  # None: the process's (`store_index.cache`)

    async def search(self, project_id: str, request: SearchRequest) -> list[Hit]:
        """The best chunks across the stores, best first (scores in [0, 1])."""
        from engine.files import store_index

        indexes = store_index.cache if self.indexes is None else self.indexes
        query = store_index.QueryVector(request.query, self.embedder)
        found: list[tuple[float, str, int, store_index.StoreIndex]] = []
        for store_id in request.store_ids:
            index = await indexes.get(store_id, self.model)
            if index is None or not index.chunks:
                continue
            for position, score in await store_index.rank(index, request, query):
                found.append((score, store_id, position, index))
        found.sort(key=lambda item: -item[0])
        best = found[: request.max_num_results]
        await stores_db.touch_stores(request.store_ids, utcnow())
        return await _hits(project_id, best)


async def _hits(project_id: str, best: "list[tuple[float, str, int, StoreIndex]]") -> list[Hit]:
    chunks = [
        (score, store_id, index.chunks[position], index.attributes[position])
        for score, store_id, position, index in best
    ]
    names = await filenames(project_id, {chunk.file_id for _, _, chunk, _ in chunks})
    return [
        Hit(store_id, chunk.file_id, names.get(chunk.file_id, ""), score, chunk.text, attributes)
        for score, store_id, chunk, attributes in chunks
    ]
