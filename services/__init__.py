"""One service per domain: the rules, typed inputs in, documents out. GraphQL resolvers and
the REST routes both call these and only translate (design.md)."""

from collections.abc import Callable
from dataclasses import dataclass

from engine.catalog import Catalog
from engine.files.search import Searcher
from services.assistants import AssistantService
from services.files import FileService
from services.imports import ImportService
from services.messages import MessageService
from services.runs import Runs
from services.threads import ThreadService
from services.vector_stores import VectorStoreService


@dataclass(frozen=True)
class Services:
    assistants: AssistantService
    threads: ThreadService
    messages: MessageService
    runs: Runs
    files: FileService
    vector_stores: VectorStoreService
    imports: ImportService

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        runs: Runs,
        max_file_bytes: int,
        ingest: Callable[[], None],
        searcher: Searcher,
    ) -> "Services":
        """`ingest` wakes this process's ingestion workers; `searcher` is the engine's."""
        return cls(
            assistants=AssistantService(catalog),
            threads=ThreadService(),
            messages=MessageService(),
            runs=runs,
            files=FileService(max_file_bytes),
            vector_stores=VectorStoreService(ingest, searcher),
            imports=ImportService(catalog),
        )
