"""Threads: conversations that hold messages."""

from typing import Any

from pydantic import Field
from pymongo import IndexModel

from models.base import ScopedDocument
from models.ids import new_id
from models.repository import Repository
from models.tools import ToolResources
from models.validation import Metadata


class ThreadDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("thread"))
    tool_resources: ToolResources | None = None
    metadata: Metadata = Field(default_factory=dict)
    # Changed with every message added or deleted, in the same transaction: a concurrent
    # deleteThread then conflicts on this document, so a message never outlives its thread.
    # (An $inc always writes; a $set of an unchanged value would not, and would not conflict.)
    message_count: int = 0
    # The sequence number of the thread's last run event (see models/event.py).
    event_sequence: int = 0

    def snapshot(self) -> dict[str, Any]:
        """The thread as events carry it: without the counters kept for the engine."""
        snapshot: dict[str, Any] = self.model_dump(exclude={"message_count", "event_sequence"})
        return snapshot

    class Settings:
        name = "threads"
        indexes = [IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)])]


threads = Repository(ThreadDocument, "thread", "thread_")
