"""Project-scoped reads and writes shared by every document type."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from beanie.odm.utils.encoder import Encoder
from pymongo.asynchronous.client_session import AsyncClientSession

from models import liveness
from models.base import ScopedDocument
from models.errors import NotFound
from models.pagination import Page, PageRequest, find_validated, paginate
from models.validation import Where, validated

D = TypeVar("D", bound=ScopedDocument)
T = TypeVar("T")
MAX_ID_LENGTH = 64


class Repository(Generic[D]):
    """Every read filters by project: another project's id reads exactly like an unknown one."""

    def __init__(self, model: type[D], kind: str, prefix: str) -> None:
        self.model = model
        self.kind = kind
        self.prefix = prefix

    def owns(self, object_id: str) -> bool:
        return object_id.startswith(self.prefix) and len(object_id) <= MAX_ID_LENGTH

    async def find(self, project_id: str, object_id: str, **scope: str | None) -> D | None:
        """The object; with `scope` (`thread_id=…`), only if it is that parent's: another
        parent's object reads like an unknown one, as a path naming both must. A None in
        `scope` is no condition. Read raw and validated, as `find_many`."""
        if not self.owns(object_id):
            return None
        within = {name: value for name, value in scope.items() if value is not None}
        raw = await self.model.get_pymongo_collection().find_one(
            {"_id": object_id, "project_id": project_id, **within}
        )
        return None if raw is None else self.model.model_validate(raw)

    async def find_many(self, project_id: str, object_ids: list[str]) -> dict[str, D]:
        """The project's objects among these ids (unknown ones left out), in one read."""
        wanted = sorted({object_id for object_id in object_ids if self.owns(object_id)})
        if not wanted:
            return {}
        found = await find_validated(self.model, {"_id": {"$in": wanted}, "project_id": project_id})
        return {document.id: document for document in found}

    async def holders(self, object_ids: list[str]) -> dict[str, str]:
        """The project holding each of these ids, across projects: for imports, which keep ids
        and must tell an id taken elsewhere (refused, never read) from one of their own."""
        found = self.model.get_pymongo_collection().find(
            {"_id": {"$in": object_ids}}, {"project_id": 1}
        )
        return {document["_id"]: document["project_id"] async for document in found}

    async def get(self, project_id: str, object_id: str, **scope: str | None) -> D:
        document = await self.find(project_id, object_id, **scope)
        if document is None:
            raise NotFound(self.kind, object_id)
        return document

    async def page(self, project_id: str, request: PageRequest, **filters: Any) -> Page[D]:
        return await paginate(self.model, {"project_id": project_id, **filters}, request)

    def build(self, project_id: str, data: Mapping[str, Any], prefix: str | Where = "input") -> D:
        """A new, validated document from API input (explicit nulls mean 'the default')."""
        given = {key: value for key, value in data.items() if value is not None}
        return validated(self.model, {**given, "project_id": project_id}, prefix)

    async def create(self, project_id: str, data: Mapping[str, Any]) -> D:
        return await self.insert(self.build(project_id, data))

    async def update(self, project_id: str, object_id: str, changes: Mapping[str, Any]) -> D:
        """Applies `changes` (null resets a field to its default), validating the result whole;
        only the fields that changed are written (the derived ones included)."""
        current = await self.get(project_id, object_id)
        merged = current.model_dump()
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return await self.write_changes(current, validated(self.model, merged))

    async def write_changes(self, read: D, edited: D) -> D:
        """Writes only the fields `edited` changed from `read` (the document as it was read):
        what others write to the rest meanwhile (a thread's counters as its run goes on, a
        store's usage as its files complete, a file's status as it is ingested) is kept. A
        whole-document replace would write back what was read, over their writes."""
        before, after = Encoder().encode(read), Encoder().encode(edited)
        changed = {key: value for key, value in after.items() if before.get(key) != value}
        if changed:
            scope = {"_id": edited.id, "project_id": edited.project_id}
            result = await self.model.get_pymongo_collection().update_one(scope, {"$set": changed})
            if result.matched_count == 0:
                raise NotFound(self.kind, edited.id)
        return edited

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Runs `work` in a multi-document transaction, retried on transient conflicts."""
        client = self.model.get_pymongo_collection().database.client
        async with client.start_session() as session:
            await liveness.process.register(session)  # so a kill mid-transaction is undone
            return await session.with_transaction(work)

    async def insert(self, document: D, session: AsyncClientSession | None = None) -> D:
        await document.insert(session=session)
        return document

    async def delete(
        self, project_id: str, object_id: str, session: AsyncClientSession | None = None
    ) -> None:
        if not await self.remove(project_id, object_id, session):
            raise NotFound(self.kind, object_id)

    async def remove(
        self, project_id: str, object_id: str, session: AsyncClientSession | None = None
    ) -> bool:
        """Deletes the object; False if there was none (another remover came first)."""
        if not self.owns(object_id):
            return False
        result = await self.model.get_pymongo_collection().delete_one(
            {"_id": object_id, "project_id": project_id}, session=session
        )
        return result.deleted_count == 1
