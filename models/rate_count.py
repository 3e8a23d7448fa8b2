"""Rate-limit hits counted across processes and machines: one document per limit, caller and
fixed window, to which each process adds the hits it let through since it last did
(app/limits.py). A window's document is deleted by MongoDB's TTL monitor once it has ended."""

from collections.abc import Mapping
from datetime import datetime

from beanie import Document
from pymongo import IndexModel, UpdateOne


class RateCountDocument(Document):
    id: str  # type: ignore[assignment]  # "<scope>|<caller>|<limit>|<window start>"
    hits: int = 0
    expires_at: datetime

    class Settings:
        name = "rate_counts"
        indexes = [IndexModel([("expires_at", 1)], expireAfterSeconds=0)]


async def add_hits(hits: Mapping[str, tuple[int, datetime]]) -> dict[str, int]:
    """Adds each window's new hits (0: only reads it), given with the window's end, and returns
    each window's count across every process: two round trips, however many windows."""
    collection = RateCountDocument.get_pymongo_collection()
    writes = [
        UpdateOne(
            {"_id": window},
            {"$inc": {"hits": added}, "$setOnInsert": {"expires_at": ends}},
            upsert=True,
        )
        for window, (added, ends) in hits.items()
        if added
    ]
    if writes:
        await collection.bulk_write(writes, ordered=False)
    found = collection.find({"_id": {"$in": list(hits)}}, {"hits": 1})
    return {document["_id"]: document["hits"] async for document in found}
