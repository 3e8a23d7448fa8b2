"""Keyset pagination over (created_at, _id): Relay's first/after/last/before, in either order.
Threads can also be listed by (last_activity_at, _id).

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
CREATED_AT = "created_at"
# A cursor names the field it was made for (none for created_at, as cursors always were), so
# that one made for another order is refused rather than misread.
CURSOR_TAGS = {CREATED_AT: "", "last_activity_at": "a"}


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
    field: str = CREATED_AT  # the sort key's first field

    def cursor(self, document: D) -> str:
        return encode_cursor(document, self.field)


Key = tuple[datetime, str]


def encode_cursor(document: StoredDocument, field: str = CREATED_AT) -> str:
    millis = int(getattr(document, field).timestamp() * 1000)
    raw = f"{CURSOR_TAGS[field]}{millis}:{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = CREATED_AT) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, object_id = raw.split(":", 1)
        tag = CURSOR_TAGS[field]
        if tag and not millis.startswith(tag):
            raise ValueError("a cursor of another order")
        return datetime.fromtimestamp(int(millis.removeprefix(tag)) / 1000, UTC), object_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise BadUserInput(f"Invalid cursor '{cursor[:64]}'.") from None


def _beyond(
    key: Key, ascending: bool, inclusive: bool = False, field: str = CREATED_AT
) -> dict[str, Any]:
    """The filter for keys after `key` in the given direction."""
    value, object_id = key
    op = "$gt" if ascending else "$lt"
    id_op = op + ("e" if inclusive else "")
    return {
        field: {op + "e": value},  # a range bound the planner can scan the index by
        "$or": [
            {field: {op: value}},
            {field: value, "_id": {id_op: object_id}},
        ],
    }


def _within(scope: dict[str, Any], bounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One flat filter where it can be: some planners (the embedded database's) scan the whole
    collection for any top-level `$and`."""
    if len(bounds) <= 1:
        return {**scope, **(bounds[0] if bounds else {})}
    return {**scope, "$and": bounds}


async def paginate(
    model: type[D], scope: dict[str, Any], request: PageRequest, field: str = CREATED_AT
) -> Page[D]:
    """One page of `model` matching `scope`, ordered by (field, _id)."""
    ascending = request.order is SortOrder.ASC
    after = decode_cursor(request.after, field) if request.after else None
    before = decode_cursor(request.before, field) if request.before else None
    bounds = []
    if after:
        bounds.append(_beyond(after, ascending, field=field))
    if before:
        bounds.append(_beyond(before, not ascending, field=field))
    backwards = request.last is not None
    size = (request.last if backwards else request.first) or DEFAULT_PAGE_SIZE
    scan_ascending = ascending != backwards
    direction = SortDirection.ASCENDING if scan_ascending else SortDirection.DESCENDING
    items = (
        await model.find(_within(scope, bounds))
        .sort([(field, direction), ("_id", direction)])
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
        far_side = _within(scope, [_beyond(edge, toward, inclusive=True, field=field)])
        beyond_edge = (
            await model.get_pymongo_collection().find_one(far_side, {"_id": 1}) is not None
        )
    if backwards:
        return Page(items, has_next_page=beyond_edge, has_previous_page=has_more, field=field)
    return Page(items, has_next_page=has_more, has_previous_page=beyond_edge, field=field)
