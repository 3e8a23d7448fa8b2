"""A lease: who holds a document's work (a run, a file's ingestion), and until when."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Lease(BaseModel):
    owner: str
    expires_at: datetime


def unheld(now: datetime) -> dict[str, Any]:
    """The filter for documents nobody holds at `now`: no lease, or one that ran out.

    One condition on one field rather than an `$or` of the two cases: the embedded database
    scans the whole collection for a top-level `$or`, whatever else the filter narrows it to,
    so every claim would read every run ever stored. `$not` also matches a missing field,
    which is what the path gives for `lease: None`."""
    return {"lease.expires_at": {"$not": {"$gte": now}}}
