"""Threads: conversations that hold messages, optionally owned by an end user (`owner`)."""

import json
from datetime import datetime
from enum import Enum
from typing import Any, Self

from pydantic import Field, model_validator
from pymongo import IndexModel

from models.base import ScopedDocument
from models.ids import new_id
from models.pagination import Page, PageRequest, paginate
from models.repository import Repository
from models.tools import ToolResources
from models.validation import Metadata

MAX_OWNER_LENGTH = 256


class ThreadOrder(Enum):
    """What a thread listing sorts by (with the id, so that the order is total)."""

    CREATED_AT = "created_at"
    LAST_ACTIVITY = "last_activity_at"


def metadata_entry(key: str, value: str) -> str:
    """One metadata pair as one string (JSON: unambiguous whatever the key and value hold)."""
    return json.dumps([key, value])


class ThreadDocument(ScopedDocument):
    id: str = Field(default_factory=lambda: new_id("thread"))
    # The end user the thread belongs to: a client token's subject, or set by a project key.
    # Never changes; a client token sees only its subject's threads.
    owner: str | None = Field(default=None, min_length=1, max_length=MAX_OWNER_LENGTH)
    tool_resources: ToolResources | None = None
    metadata: Metadata = Field(default_factory=dict)
    # Every metadata pair as one string, so that one multikey index bounds a listing filtered
    # on any key to a range (see page_threads). Derived from `metadata`, never set.
    metadata_index: list[str] = Field(default_factory=list)
    # The thread's creation, or its last message or run event (but streamed deltas): what a
    # chat list sorts by. Only ever raised ($max), in the writes that add those.
    last_activity_at: datetime | None = None
    # Changed with every message added or deleted, in the same transaction: a concurrent
    # deleteThread then conflicts on this document, so a message never outlives its thread.
    # (An $inc always writes; a $set of an unchanged value would not, and would not conflict.)
    message_count: int = 0
    # The sequence number of the thread's last run event (see models/event.py).
    event_sequence: int = 0
    # The position of the last message written: messages are numbered 1, 2, 3… in the order
    # they are written (models/conversations.py: number_messages), never reused.
    message_position: int = 0
    # Raised by every write that deletes a stored message or numbers stored ones again (see
    # models/thread_numbers.py): what a process remembers of the thread's history holds
    # while it is unchanged (models/history_window.py).
    history_changes: int = 0

    @model_validator(mode="after")
    def _derived_fields(self) -> Self:
        self.metadata_index = [metadata_entry(k, v) for k, v in sorted(self.metadata.items())]
        if self.last_activity_at is None:
            self.last_activity_at = self.created_at
        return self

    @property
    def active_at(self) -> datetime:
        return self.last_activity_at or self.created_at

    def snapshot(self) -> dict[str, Any]:
        """The thread as events carry it: without the counters kept for the engine."""
        snapshot: dict[str, Any] = self.model_dump(
            exclude={
                "message_count",
                "event_sequence",
                "message_position",
                "history_changes",
                "metadata_index",
            }
        )
        return snapshot

    class Settings:
        name = "threads"
        indexes = [
            IndexModel([("project_id", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("last_activity_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("owner", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("owner", 1), ("last_activity_at", 1), ("_id", 1)]),
            IndexModel([("project_id", 1), ("metadata_index", 1), ("created_at", 1), ("_id", 1)]),
            IndexModel(
                [("project_id", 1), ("metadata_index", 1), ("last_activity_at", 1), ("_id", 1)]
            ),
        ]


threads = Repository(ThreadDocument, "thread", "thread_")


async def page_threads(
    project_id: str,
    request: PageRequest,
    order: ThreadOrder = ThreadOrder.CREATED_AT,
    owner: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Page[ThreadDocument]:
    """A page of the project's threads, each filter an equality on an index's prefix: the
    scan is bounded by the owner's (or the metadata pair's) threads, then by the cursor."""
    scope: dict[str, Any] = {"project_id": project_id}
    if owner is not None:
        scope["owner"] = owner
    pairs = sorted((metadata or {}).items())
    if pairs and owner is None:
        scope["metadata_index"] = metadata_entry(*pairs.pop(0))
    for key, value in pairs:  # within the range above
        scope[f"metadata.{key}"] = value
    return await paginate(ThreadDocument, scope, request, order.value)
