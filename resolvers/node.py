"""`node(id)`: any object by its id, whose prefix names its type."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from app.context import Info
from app.policy import Access
from models.assistant import assistants
from models.file import files
from models.message import messages
from models.repository import Repository
from models.run import runs
from models.run_step import run_steps
from models.thread import threads
from models.vector_store import vector_stores
from schema.assistant import Assistant
from schema.common import Node
from schema.file import File
from schema.message import Message
from schema.run import Run
from schema.run_step import RunStep
from schema.thread import Thread
from schema.vector_store import VectorStore

Lookup = Callable[[Access, str], Awaitable[Any]]


def _project_wide(repository: Repository[Any]) -> Lookup:
    """Objects of the whole project (app/policy.py says who sees them)."""

    async def find(access: Access, object_id: str) -> Any:
        if not access.sees_project_wide:
            return None
        return await repository.find(access.project_id, object_id)

    return find


# Each type as the caller may see it (app/policy.py decides for client tokens).
NODE_TYPES: list[tuple[Repository[Any], Lookup, Callable[[Any], Node]]] = [
    (assistants, Access.assistant, Assistant.from_document),
    (threads, Access.thread, Thread.from_document),
    (messages, Access.message, Message.from_document),
    (runs, Access.run, Run.from_document),
    (run_steps, Access.run_step, RunStep.from_document),
    (vector_stores, _project_wide(vector_stores), VectorStore.from_document),
]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its id; another project's id reads as null.")
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Any object's id; its prefix names its type."),
        ],
    ) -> Node | None:
        access = info.context.access
        if files.owns(id):  # its download link names where the server was reached
            if not access.sees_project_wide:
                return None
            found = await info.context.services.files.find(info.context.project_id, id)
            return File.from_document(found, info.context.base_url) if found else None
        for repository, find, convert in NODE_TYPES:
            if repository.owns(id):
                document = await find(access, id)
                return convert(document) if document else None
        return None
