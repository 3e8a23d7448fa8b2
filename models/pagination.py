"""Keyset pagination over (created_at, _id): Relay's first/after/last/before, in either order.

A cursor is the sort key of an item, so pages stay exact under concurrent inserts and deletes
(no skip/offset), and each page is one indexed range scan.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from beanie import SortDirection

from models.base import StoredDocument
from models.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

D = TypeVar("D", bound=StoredDocument)


class SortOrder(Enum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    order: SortOrder = SortOrder.DESC

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None:
            raise BadUserInput("Pass `first` or `last`, not both.")
        for name in ("first", "last"):
            size = getattr(self, name)
            if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
                raise BadUserInput(f"`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {size}.")


@dataclass(frozen=True)
class Page(Generic[D]):
    items: list[D]
    has_next_page: bool
    has_previous_page: bool


Key = tuple[datetime, str]


def encode_cursor(document: StoredDocument) -> str:
    millis = int(document.created_at.timestamp() * 1000)
    raw = f"{millis}:{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, object_id = raw.split(":", 1)
        return datetime.fromtimestamp(int(millis) / 1000, UTC), object_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise BadUserInput(f"Invalid cursor '{cursor[:64]}'.") from None


def _beyond(key: Key, ascending: bool, inclusive: bool = False) -> dict[str, Any]:
    """The filter for keys after `key` in the given direction."""
    created_at, object_id = key
    op = "$gt" if ascending else "$lt"
    id_op = op + ("e" if inclusive else "")
    return {
        "created_at": {op + "e": created_at},  # a range bound the planner can scan the index by
        "$or": [
            {"created_at": {op: created_at}},
            {"created_at": created_at, "_id": {id_op: object_id}},
        ],
    }


def _within(scope: dict[str, Any], bounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One flat filter where it can be: some planners (the embedded database's) scan the whole
    collection for any top-level `$and`."""
    if len(bounds) <= 1:
        return {**scope, **(bounds[0] if bounds else {})}
    return {**scope, "$and": bounds}


async def paginate(model: type[D], scope: dict[str, Any], request: PageRequest) -> Page[D]:
    """One page of `model` matching `scope`, ordered by (created_at, _id)."""
    ascending = request.order is SortOrder.ASC
    after = decode_cursor(request.after) if request.after else None
    before = decode_cursor(request.before) if request.before else None
    bounds = []
    if after:
        bounds.append(_beyond(after, ascending))
    if before:
        bounds.append(_beyond(before, not ascending))
    backwards = request.last is not None
    size = (request.last if backwards else request.first) or DEFAULT_PAGE_SIZE
    scan_ascending = ascending != backwards
    direction = SortDirection.ASCENDING if scan_ascending else SortDirection.DESCENDING
    items = (
        await model.find(_within(scope, bounds))
        .sort([("created_at", direction), ("_id", direction)])
        .limit(size + 1)
        .to_list()
    )
    has_more = len(items) > size
    items = items[:size]
    if backwards:
        items.reverse()
    # Whether anything lies on the far side of the cursor we came from.
    edge = after if not backwards else before
    beyond_edge = False
    if edge:
        toward = not ascending if not backwards else ascending
        far_side = _within(scope, [_beyond(edge, toward, inclusive=True)])
        beyond_edge = (
            await model.get_pymongo_collection().find_one(far_side, {"_id": 1}) is not None
        )
    if backwards:
        return Page(items, has_next_page=beyond_edge, has_previous_page=has_more)
    return Page(items, has_next_page=has_more, has_previous_page=beyond_edge)
