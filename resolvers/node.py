"""`node(id)`: any object by its id, whose prefix names its type."""

from collections.abc import Callable
from typing import Any

import strawberry

from app.context import Info
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

NODE_TYPES: list[tuple[Repository[Any], Callable[[Any], Node]]] = [
    (assistants, Assistant.from_document),
    (threads, Thread.from_document),
    (messages, Message.from_document),
    (runs, Run.from_document),
    (run_steps, RunStep.from_document),
    (vector_stores, VectorStore.from_document),
]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its id; another project's id reads as null.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        if files.owns(id):  # its download link names where the server was reached
            found = await info.context.services.files.find(info.context.project_id, id)
            return File.from_document(found, info.context.base_url) if found else None
        for repository, convert in NODE_TYPES:
            if repository.owns(id):
                document = await repository.find(info.context.project_id, id)
                return convert(document) if document else None
        return None
