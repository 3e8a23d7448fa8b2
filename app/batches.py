"""DataLoaders: the documents that many resolvers of one operation name (each run's thread and
assistant, each thread's active run) read together, one query per kind and batch.

Uncached: a websocket's context lasts as long as the connection, and documents change."""

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import GraphQLField
from strawberry.dataloader import DataLoader

from models.assistant import AssistantDocument, assistants
from models.base import ScopedDocument
from models.repository import Repository
from models.run import RunDocument, active_runs
from models.thread import ThreadDocument, threads

if TYPE_CHECKING:
    from app.fairness import Turns

D = TypeVar("D", bound=ScopedDocument)
# Strawberry field metadata of a field that waits on a batch: it takes no turn of its own.
BATCHED_KEY = "threadline.batched"
BATCHED: dict[str, Any] = {BATCHED_KEY: True}


def is_batched(field: GraphQLField) -> bool:
    definition = field.extensions.get("strawberry-definition")
    return definition is not None and bool(definition.metadata.get(BATCHED_KEY))


class Batches:
    """One per caller's view (app/policy.py: Access). Each batch reads in one of `turns`,
    taken for `share_key` (app/fairness.py), when it is given."""

    def __init__(self, project_id: str, turns: "Turns | None" = None, share_key: str = "") -> None:
        self.project_id = project_id
        self._turns = turns
        self._share_key = share_key
        self.threads: DataLoader[str, ThreadDocument | None] = DataLoader(
            self._by_id(threads), cache=False
        )
        self.assistants: DataLoader[str, AssistantDocument | None] = DataLoader(
            self._by_id(assistants), cache=False
        )
        self.active_runs: DataLoader[str, RunDocument | None] = DataLoader(
            self._active_runs, cache=False
        )

    def _turn(self) -> AbstractAsyncContextManager[None]:
        if self._turns is None:
            return nullcontext()
        return self._turns.turn(self._share_key)

    def _by_id(self, repository: Repository[D]) -> Callable[[list[str]], Awaitable[list[D | None]]]:
        async def load(ids: list[str]) -> list[D | None]:
            async with self._turn():
                found = await repository.find_many(self.project_id, ids)
            return [found.get(object_id) for object_id in ids]

        return load

    async def _active_runs(self, thread_ids: list[str]) -> list[RunDocument | None]:
        async with self._turn():
            found = await active_runs(self.project_id, thread_ids)
        return [found.get(thread_id) for thread_id in thread_ids]
