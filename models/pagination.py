"""Keyset pagination over (created_at, _id): Relay's first/after/last/before, in either order.
Threads can also be listed by (last_activity_at, _id), a thread's messages by their position.

A cursor is the sort key of an item, so pages stay exact under concurrent inserts and deletes
(no skip/offset), and each page is read by indexed range scans, never by a filter with a
top-level `$or` or `$and` (the embedded database reads the whole collection for one). A
collection numbered 1, 2, 3… in its scope (Numbered) is read by bounded ranges of numbers
instead: some databases (the embedded one) read every candidate of an unbounded range before
they sort and limit.
"""

import base64
import binascii
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar, cast

from pymongo import ASCENDING, DESCENDING

from models.base import StoredDocument, StoredView
from models.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
FIRST_RANGE = 32  # the numbers a numbered read looks at first (doubled while it needs more)

D = TypeVar("D", bound=StoredDocument)
R = TypeVar("R", bound=StoredDocument | StoredView)  # what a read can validate
CREATED_AT = "created_at"
POSITION = "position"
# A cursor names the field it was made for (none for created_at, as cursors always were), so
# that one made for another order is refused rather than misread.
CURSOR_TAGS = {CREATED_AT: "", "last_activity_at": "a", POSITION: "p"}


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


Key = tuple[datetime | int, str]
Ordered = TypeVar("Ordered", int, Key)  # a number, or a whole sort key


def encode_cursor(document: StoredDocument, field: str = CREATED_AT) -> str:
    return encode_key((getattr(document, field), document.id), field)


def encode_key(key: Key, field: str = CREATED_AT) -> str:
    value, object_id = key
    number = int(value.timestamp() * 1000) if isinstance(value, datetime) else int(value)
    raw = f"{CURSOR_TAGS[field]}{number}:{object_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = CREATED_AT) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number, object_id = raw.split(":", 1)
        tag = CURSOR_TAGS[field]
        if tag and not number.startswith(tag):
            raise ValueError("a cursor of another order")
        value = int(number.removeprefix(tag))
        if field == POSITION:
            return value, object_id
        return datetime.fromtimestamp(value / 1000, UTC), object_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise BadUserInput(f"Invalid cursor '{cursor[:64]}'.") from None


@dataclass(frozen=True)
class Numbered:
    """A scope whose documents are numbered on `field`, one number each, given in order from 1
    (`top`: the highest given so far, as last read; holes where documents were deleted)."""

    top: int
    field: str = POSITION


def twice(width: int) -> int:
    return width * 2


async def numbered(
    model: type[R],
    scope: dict[str, Any],
    numbering: Numbered,
    ascending: bool,
    start: int | None = None,
    inclusive: bool = False,
    width: int = FIRST_RANGE,
    grow: Callable[[int], int] = twice,
) -> AsyncGenerator[R, None]:
    """`scope`'s documents from `start` on (from the end it begins at, without one), lazily,
    one bounded range of numbers at a time, the first `width` wide, each next as wide as
    `grow` makes the last (twice, unless the caller knows better): holes cost a wider range,
    never a read of the whole scope. The last range is open-ended, so documents numbered past
    a stale `top` are still found. Close it (`aclosing`) to stop early."""
    field = numbering.field
    direction = ASCENDING if ascending else DESCENDING
    if start is None:
        edge = 0 if ascending else numbering.top + 1
    else:
        edge = start - 1 if ascending and inclusive else start + 1 if inclusive else start
    newest = start is None and not ascending  # from the top: open above it too
    while True:
        bound: dict[str, int]
        if ascending:
            far = edge + width
            last = far >= numbering.top
            bound = {"$gt": edge} if last else {"$gt": edge, "$lte": far}
        else:
            far = edge - width
            last = far < 1
            bound = {} if newest else {"$lt": edge}
            if not last:
                bound["$gte"] = far
            newest = False
        query = {**scope, field: bound} if bound else scope
        for document in await find_validated(model, query, [(field, direction)]):
            yield document
        if last:
            return
        edge, width = far, max(1, grow(width))


async def find_validated(
    model: type[R],
    query: dict[str, Any],
    sort: list[tuple[str, int]] | None = None,
    limit: int = 0,
) -> list[R]:
    """Read raw, then validated: Beanie's cursor costs as much again as the read (a long
    thread's prompt reads hundreds of messages; a page's `thread`/`assistant` fields, a
    hundred objects)."""
    cursor = model.get_pymongo_collection().find(query, sort=sort, limit=limit)
    # cast: mypy does not carry a bound that is a union through `model_validate`'s Self.
    return [cast(R, model.model_validate(raw)) async for raw in cursor]


async def take(generator: AsyncGenerator[R, None], count: int) -> list[R]:
    """The first `count` documents `generator` yields; it is closed after them."""
    taken: list[R] = []
    async with aclosing(generator) as documents:
        async for document in documents:
            taken.append(document)
            if len(taken) == count:
                break
    return taken


async def paginate(
    model: type[D],
    scope: dict[str, Any],
    request: PageRequest,
    field: str = CREATED_AT,
    numbering: Numbered | None = None,
) -> Page[D]:
    """One page of `model` matching `scope`, ordered by (field, _id); with `numbering`, a page
    of a numbered scope, read by ranges of its numbers."""
    if numbering is not None:
        return await _numbered_page(model, scope, request, numbering)
    ascending = request.order is SortOrder.ASC
    after = decode_cursor(request.after, field) if request.after else None
    before = decode_cursor(request.before, field) if request.before else None
    backwards = request.last is not None
    size = (request.last if backwards else request.first) or DEFAULT_PAGE_SIZE
    scan_ascending = ascending != backwards
    # Read from one cursor; the page ends at the other, if there is one.
    start, stop = (before, after) if backwards else (after, before)
    items = await _past(model, scope, field, start, scan_ascending, size + 1)
    if stop is not None:
        items = [item for item in items if _before(_key(item, field), stop, scan_ascending)]
    has_more = len(items) > size
    items = items[:size]
    if backwards:
        items.reverse()
    beyond_edge = False
    if start is not None:  # anything on the far side of the cursor we came from
        far_side = await _past(model, scope, field, start, not scan_ascending, 1, inclusive=True)
        beyond_edge = bool(far_side)
    if backwards:
        return Page(items, has_next_page=beyond_edge, has_previous_page=has_more, field=field)
    return Page(items, has_next_page=has_more, has_previous_page=beyond_edge, field=field)


async def _past(
    model: type[D],
    scope: dict[str, Any],
    field: str,
    key: Key | None,
    ascending: bool,
    limit: int,
    inclusive: bool = False,
) -> list[D]:
    """Up to `limit` of `scope`'s documents in (field, _id) order from `key` on (from the
    start, without one): first those tied with it on `field`, then those past it. Two reads,
    each a bounded index range, rather than one filter with an `$or` of the two: the embedded
    database reads the whole collection for a top-level `$or`."""
    direction = ASCENDING if ascending else DESCENDING
    order = [(field, direction), ("_id", direction)]
    if key is None:
        return await find_validated(model, scope, order, limit)
    value, object_id = key
    op = "$gt" if ascending else "$lt"
    tied = {field: value, "_id": {op + ("e" if inclusive else ""): object_id}}
    items = await find_validated(model, {**scope, **tied}, order, limit)
    if len(items) < limit:
        items += await find_validated(
            model, {**scope, field: {op: value}}, order, limit - len(items)
        )
    return items


def _key(document: StoredDocument, field: str) -> Key:
    value: datetime | int = getattr(document, field)
    return value, document.id


async def _numbered_page(
    model: type[D], scope: dict[str, Any], request: PageRequest, numbering: Numbered
) -> Page[D]:
    field = numbering.field
    ascending = request.order is SortOrder.ASC
    after = _number(request.after, field)
    before = _number(request.before, field)
    backwards = request.last is not None
    size = (request.last if backwards else request.first) or DEFAULT_PAGE_SIZE
    scan_ascending = ascending != backwards
    start, stop = (before, after) if backwards else (after, before)
    # As wide as the page and one more: without holes, one read of just those.
    read = numbered(model, scope, numbering, scan_ascending, start, width=size + 1)
    items = await take(read, size + 1)
    if stop is not None:  # the page ends at the other cursor
        items = [item for item in items if _before(getattr(item, field), stop, scan_ascending)]
    has_more = len(items) > size
    items = items[:size]
    if backwards:
        items.reverse()
    beyond_edge = False
    if start is not None:  # anything on the far side of the cursor we came from
        # From the cursor's own number: unless it was deleted, a read of one document.
        toward = numbered(
            model, scope, numbering, not scan_ascending, start, inclusive=True, width=1
        )
        beyond_edge = bool(await take(toward, 1))
    if backwards:
        return Page(items, has_next_page=beyond_edge, has_previous_page=has_more, field=field)
    return Page(items, has_next_page=has_more, has_previous_page=beyond_edge, field=field)


def _before(value: Ordered, stop: Ordered, ascending: bool) -> bool:
    """Whether `value` comes before `stop` in the scan's direction."""
    return value < stop if ascending else value > stop


def _number(cursor: str | None, field: str) -> int | None:
    if cursor is None:
        return None
    value, _ = decode_cursor(cursor, field)
    assert isinstance(value, int)
    return value
