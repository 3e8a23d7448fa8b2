"""One service per domain: the rules, typed inputs in, documents out. GraphQL resolvers and
the REST routes both call these and only translate (design.md)."""

from collections.abc import Callable
from dataclasses import dataclass

from engine.files.search import Searcher
from services.files import FileService
from services.vector_stores import VectorStoreService


@dataclass(frozen=True)
class Services:
    files: FileService
    vector_stores: VectorStoreService

    @classmethod
    def build(
        cls, max_file_bytes: int, ingest: Callable[[], None], searcher: Searcher
    ) -> "Services":
        """`ingest` wakes this process's ingestion workers; `searcher` is the engine's."""
        return cls(
            files=FileService(max_file_bytes),
            vector_stores=VectorStoreService(ingest, searcher),
        )
