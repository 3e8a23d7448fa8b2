"""Windows of creation time, newest first, for databases that cannot sort by an index.

The embedded database uses an index for equality and ranges but sorts every match itself:
"the newest 20 of a 100,000-message thread" sorted the whole thread. Queried a window at a
time — from now backwards, each twice as wide as the last, the last one open — it sorts only
the windows it reads. On MongoDB the index would serve either way."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from models.base import utcnow

FIRST_WINDOW = timedelta(minutes=1)
GROWTH = 2


def windows_back(since: datetime) -> Iterator[dict[str, datetime]]:
    """`created_at` bounds, newest window first: disjoint, and together everything. `since`
    (when the parent was made) ends the doubling: the window reaching it is left open."""
    now, width = utcnow(), FIRST_WINDOW
    upper: datetime | None = None
    while True:
        lower: datetime | None = now - width
        if lower is not None and lower <= since:
            lower = None
        bounds: dict[str, datetime] = {}
        if lower is not None:
            bounds["$gte"] = lower
        if upper is not None:
            bounds["$lt"] = upper
        yield bounds
        if lower is None:
            return
        upper, width = lower, width * GROWTH


def narrowed(query: dict[str, Any], window: dict[str, datetime]) -> dict[str, Any]:
    """`query` within `window`, its own `created_at` bounds kept (the tighter of two)."""
    created = dict(query.get("created_at") or {})
    for op, value in window.items():
        if op in created:
            created[op] = max(created[op], value) if op == "$gte" else min(created[op], value)
        else:
            created[op] = value
    return {**query, "created_at": created} if created else query
