"""What every stored object has: an OpenAI-style id and its creation time; most, a project."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from beanie import Document
from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection


def utcnow() -> datetime:
    """Now, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def earlier_than(moment: datetime) -> dict[str, datetime]:
    """The condition on a date field that is set and earlier than `moment`. Bounded below as
    well: the embedded database reads a one-sided `$lt` from the start of the index, through
    every document whose field is null (most files and vector stores never expire)."""
    return {"$gte": EPOCH, "$lt": moment}


class StoredDocument(Document):
    """Anything listed through keyset pagination over (created_at, _id)."""

    id: str  # type: ignore[assignment]  # OpenAI-style ids instead of ObjectIds
    created_at: datetime = Field(default_factory=utcnow)


class ScopedDocument(StoredDocument):
    # Restated: without it mypy checks subclasses' `id` against Beanie's ObjectId field.
    id: str
    project_id: str


class StoredView(BaseModel):
    """Some of a stored document's fields, read as a plain model. Validating a Beanie document
    costs about twice as much (its own initialisation): a read of hundreds (a long thread's
    prompt) reads a view of what it uses."""

    stored_as: ClassVar[type[StoredDocument]]

    @classmethod
    def get_pymongo_collection(cls) -> AsyncCollection[Any]:
        return cls.stored_as.get_pymongo_collection()
